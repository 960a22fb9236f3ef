//! TCP SYN / SYN+ACK observations (p0f signatures) and matching against p0f.fp databases.

//! Sinks and writers: CSV, JSON Lines, JSON and terminal tables, with stable column schemas.

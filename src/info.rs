//! `proxytrace info`: what a capture file is and what its packets decode to.

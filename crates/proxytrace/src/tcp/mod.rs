//! TCP: the flow table, byte-stream reassembly and client-side inference.

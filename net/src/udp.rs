//! UDP sockets (placeholder).

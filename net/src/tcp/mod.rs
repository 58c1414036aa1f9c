//! TCP sockets (placeholder).

//! Unix-domain sockets (placeholder).

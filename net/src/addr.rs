//! Address resolution (placeholder: owned by the TCP work).

//! Host-only helpers for testing code built on `rvmm`.

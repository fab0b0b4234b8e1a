//! Benchmark (written by its issue).
fn main() {}

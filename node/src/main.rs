//! The `maillon` command line.
fn main() {}

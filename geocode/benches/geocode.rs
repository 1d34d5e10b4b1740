//! Address search benchmark (filled in below).
fn main() {}

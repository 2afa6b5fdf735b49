//! Domain types: parsed once at the boundary, passed around typed.

mod language;

pub use language::Language;

//! Reusable pieces of UI.

pub mod guard;
pub mod header;
pub mod notice;

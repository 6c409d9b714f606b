//! Reusable pieces of UI.

pub mod guard;
pub mod header;
pub mod flash;
pub mod notice;

//! Reusable pieces of UI.

pub mod flash;
pub mod guard;
pub mod header;
pub mod live_value;
pub mod notice;

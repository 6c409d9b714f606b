//! One module per page (route).

pub mod admin;
pub mod calendar;
pub mod editor;
pub mod entry;
pub mod home;
pub mod journal;
pub mod lazy;
pub mod login;
pub mod login_error;
pub mod not_found;
pub mod register;
pub mod set_password;
pub mod settings;
pub mod tags;
pub mod transfer;
pub mod trash;

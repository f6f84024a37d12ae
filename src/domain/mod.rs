//! Domain rules: plain Rust that knows nothing of GraphQL, HTTP or the database.

pub mod account;
pub mod attribution;
pub mod money;
pub mod opportunity;
pub mod registration;
pub mod text;
pub mod threading;
pub mod webhook;

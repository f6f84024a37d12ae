//! The rules of webhook delivery that need no network or database: where deliveries may go,
//! and how they are signed.

pub mod signature;
pub mod target;

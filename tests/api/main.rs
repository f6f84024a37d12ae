//! cosell's integration suite: one binary, a real server per test, real HTTP.

mod attribution;
mod auth;
mod cli;
mod conflicts;
mod contacts;
mod events;
mod helpers;
mod http;
mod limits;
mod opportunities;
mod pagination;
mod registrations;
mod schema;
mod scoping;
mod statements;
mod workflow;
mod ws;
mod ws_deals;
mod ws_protocol;
mod ws_realtime;

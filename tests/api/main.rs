//! cosell's integration suite: one binary, a real server per test, real HTTP.

mod attribution;
mod auth;
mod cli;
mod conflicts;
mod contacts;
mod contention;
mod corpus;
mod events;
mod helpers;
mod hostile;
mod http;
mod limits;
mod mistakes;
mod opportunities;
mod outage;
mod outbox;
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

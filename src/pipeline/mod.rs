//! One request pipeline for every transport. HTTP, WebSocket and Server-Sent Events (`http`)
//! only frame what this module decides: [`session`] admits a caller (token, rate limit,
//! connection place, token expiry, partner watch) or says why not ([`session::Denial`]);
//! [`operation`] serves one operation (persisted document, the checks before execution,
//! validation) and runs it once ([`execute`]) or as a stream ([`live`]). [`context`] is the one
//! place a GraphQL request gets its context.
//!
//! The checks before execution, cheapest first: [`scan`] (a linear pass over the text),
//! [`limits`] (the parse, aliases, page sizes, variables), [`document`] (the expanded size);
//! [`gate`] runs them off the async workers and admits requests; [`order`] writes an answer's
//! fields in the order the document asked for them.

pub mod answer;
pub mod auth;
pub mod context;
pub mod document;
pub mod execute;
pub mod gate;
pub mod limits;
pub mod live;
pub mod operation;
pub mod order;
pub mod persisted;
pub mod prepare;
pub mod scan;
pub mod session;
pub mod slots;

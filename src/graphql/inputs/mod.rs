//! The GraphQL input objects, and the enums only arguments use, by domain. Their descriptions
//! are the schema's; each converts into the data layer's plain command, filter or order, whose
//! checks (and the decoding of the IDs in it) stay in the data layer.

pub mod account;
pub mod attribution;
pub mod contact;
pub mod decision;
pub mod opportunity;
pub mod partner;
pub mod registration;

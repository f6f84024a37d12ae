//! Who is calling. The HTTP edge turns a bearer token into a [`Principal`]; data access takes
//! the principal and returns only what it may see.

pub mod actor;
pub mod capability;
pub mod jwt;
pub mod principal;
pub mod scope;

pub use capability::{can, Grant, VendorWrite};
pub use principal::{PartnerRole, Party, Principal, PrincipalKind, Resource, VendorRole};

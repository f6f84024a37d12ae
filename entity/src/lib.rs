//! cosell's sea-orm entities, one module per table, plus the enums stored in them.
//!
//! Enums are stored as their SCREAMING_CASE names in text columns, so a row reads the same
//! in SQLite and PostgreSQL and a new variant needs no schema change.

pub mod account;
pub mod account_name_key;
pub mod attribution;
pub mod collaboration_rule;
pub mod conflict;
pub mod contact;
pub mod contact_link;
pub mod engagement;
pub mod enums;
pub mod event;
pub mod event_retention;
pub mod invitation;
pub mod opportunity;
pub mod opportunity_stage_change;
pub mod partner;
pub mod registration;
pub mod registration_transition;
pub mod threading_assessment;
pub mod webhook_attempt;
pub mod webhook_endpoint;

pub mod prelude {
    pub use super::account::Entity as Account;
    pub use super::event::Entity as Event;
    pub use super::opportunity::Entity as Opportunity;
    pub use super::opportunity_stage_change::Entity as OpportunityStageChange;
    pub use super::partner::Entity as Partner;
    pub use super::registration::Entity as Registration;
}

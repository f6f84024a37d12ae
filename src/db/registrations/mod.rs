//! Registrations: a partner's claims on deals. Reads are scoped (a partner sees its own claims
//! only) and live in `reads`, `summaries` and `list`; writes go through the lifecycle in
//! `lifecycle`; conflicts live in `conflicts` and their resolution in `resolution`. The
//! approval rules themselves are plain decisions in `domain::registration::approval`.

pub mod bulk;
pub mod conflicts;
pub mod count;
pub mod decisions;
pub mod figures;
pub mod lifecycle;
pub mod list;
pub mod protection;
pub mod reads;
pub mod resolution;
pub mod submission;
pub mod summaries;

pub use crate::auth::scope::{deals_of_partner, SEES_DEAL};
pub use bulk::{bulk, BulkDecision, BulkItem, BulkItemResult};
pub use count::fold_tally;
pub use decisions::{
    approve, reject, request_info, start_review, withdraw, Approval, ApproveRegistration,
    RegistrationDecision,
};
pub use list::{list, RegistrationFilter, RegistrationOrder, ReviewSla, AWAITING_VENDOR};
pub use protection::{expire_due, extend_protection, request_extension, ProtectionExtension};
pub use reads::{
    count_deals, get, load, load_by_opportunity, load_history, load_roles_filled, load_texts,
    scope, visible, Texts,
};
pub use resolution::{resolve, ResolveConflict};
pub use submission::{
    answer_info, create_draft, submit, update_draft, AnswerInfoRequest, RegistrationDraft,
    SubmitRegistration, UpdateRegistrationDraft,
};
pub use summaries::{load_summaries_by_opportunity, load_summaries_with_partners, SUMMARY};

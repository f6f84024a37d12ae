//! Registration inputs on the partner's side: the list's filter and order, drafts, the
//! submission, the answer to an info request and the protection extension.

use async_graphql::{Enum, InputObject, ID};
use entity::enums::{RegistrationRole, RegistrationStatus};

use crate::db::registrations::{self as data};
use crate::scalars::{Date, DateTime, MinorUnits};

/// Filters for registration lists; all given filters must match.
#[derive(InputObject, Default, Debug)]
pub struct RegistrationFilter {
    /// Only registrations in one of these statuses.
    pub status_in: Option<Vec<RegistrationStatus>>,
    /// Only this partner's registrations (vendor only; partners always see their own).
    pub partner_id: Option<ID>,
    /// Only registrations in this role.
    pub role: Option<RegistrationRole>,
    /// Only registrations on this opportunity.
    pub opportunity_id: Option<ID>,
    /// True: only registrations held by an open conflict; false: only those without one.
    pub has_open_conflict: Option<bool>,
    /// Only registrations submitted before this time (their age).
    pub submitted_before: Option<DateTime>,
    /// True: only registrations waiting for review longer than the review SLA; false: only
    /// those within it.
    pub sla_breached: Option<bool>,
}

impl From<RegistrationFilter> for data::RegistrationFilter {
    fn from(f: RegistrationFilter) -> Self {
        Self {
            status_in: f.status_in,
            partner_id: f.partner_id.map(|p| p.0),
            role: f.role,
            opportunity_id: f.opportunity_id.map(|o| o.0),
            has_open_conflict: f.has_open_conflict,
            submitted_before: f.submitted_before.map(|t| t.0),
            sla_breached: f.sla_breached,
        }
    }
}

/// Orders of registration lists.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::db::registrations::RegistrationOrder")]
pub enum RegistrationOrder {
    /// Oldest created first.
    CreatedAsc,
    /// Newest created first.
    CreatedDesc,
    /// Longest waiting first (by submission time; drafts last).
    SubmittedAsc,
}

/// What a partner claims: an opportunity it can see, or a proposed deal at an account named by
/// its domain.
#[derive(InputObject, Debug, Clone)]
pub struct RegistrationDraftInput {
    /// An opportunity you can already see (you hold another registration on it). Omit it to
    /// propose a deal the vendor may not know yet, by `accountDomain`.
    pub opportunity_id: Option<ID>,
    /// The customer's web domain, e.g. `acme.com`; required without `opportunityId`.
    pub account_domain: Option<String>,
    /// The customer's company name; required without `opportunityId`.
    pub account_name: Option<String>,
    /// A name for the proposed deal; required without `opportunityId`.
    pub deal_name: Option<String>,
    /// Your estimate of the deal's value, in minor units of `currency`.
    pub amount: Option<MinorUnits>,
    /// ISO 4217 currency of `amount`.
    pub currency: Option<String>,
    /// When you expect the deal to close.
    pub expected_close_date: Option<Date>,
    /// The role you play on the deal.
    pub role: RegistrationRole,
    /// Why the deal is yours: your relationship with the customer, work done so far (1 to 4000
    /// characters). The vendor reads it.
    pub justification: String,
    /// Notes only your organisation and the vendor can read (at most 4000 characters).
    pub private_notes: Option<String>,
}

impl From<RegistrationDraftInput> for data::RegistrationDraft {
    fn from(d: RegistrationDraftInput) -> Self {
        Self {
            opportunity_id: d.opportunity_id.map(|o| o.0),
            account_domain: d.account_domain,
            account_name: d.account_name,
            deal_name: d.deal_name,
            amount: d.amount.map(|a| a.0),
            currency: d.currency,
            expected_close_date: d.expected_close_date.map(|d| d.0),
            role: d.role,
            justification: d.justification,
            private_notes: d.private_notes,
        }
    }
}

/// Replaces the fields of a DRAFT.
#[derive(InputObject, Debug)]
pub struct UpdateRegistrationDraftInput {
    /// The draft to change.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// The draft's new content (replaces all of it).
    pub draft: RegistrationDraftInput,
}

impl From<UpdateRegistrationDraftInput> for data::UpdateRegistrationDraft {
    fn from(i: UpdateRegistrationDraftInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            draft: i.draft.into(),
        }
    }
}

/// Submits a registration: an existing DRAFT (`id` and `expectedVersion`), or a new one in
/// one call (`draft`). Integrations should send an `idempotencyKey`: a retry with the same key
/// returns the first result instead of registering twice, and the same key with a different
/// request is refused with IDEMPOTENCY_KEY_REUSED.
#[derive(InputObject, Debug)]
pub struct SubmitRegistrationInput {
    /// The DRAFT to submit.
    pub id: Option<ID>,
    /// The draft's version, with `id`.
    pub expected_version: Option<i32>,
    /// Create and submit in one step instead of submitting a draft.
    pub draft: Option<RegistrationDraftInput>,
    /// Your unique key for this submission (at most 200 characters). Sent again with the same
    /// request, it answers with the first result; with a different one, IDEMPOTENCY_KEY_REUSED.
    pub idempotency_key: Option<String>,
}

impl From<SubmitRegistrationInput> for data::SubmitRegistration {
    fn from(i: SubmitRegistrationInput) -> Self {
        Self {
            id: i.id.map(|id| id.0),
            expected_version: i.expected_version,
            draft: i.draft.map(Into::into),
            idempotency_key: i.idempotency_key,
        }
    }
}

/// A partner's answer to a NEEDS_INFO request; the registration is submitted again.
#[derive(InputObject, Debug)]
pub struct AnswerInfoRequestInput {
    /// The registration in NEEDS_INFO.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// Your answer to the vendor's question (1 to 4000 characters), recorded in the history.
    pub answer: String,
    /// A replacement justification, if the answer changes it.
    pub justification: Option<String>,
}

impl From<AnswerInfoRequestInput> for data::AnswerInfoRequest {
    fn from(i: AnswerInfoRequestInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            answer: i.answer,
            justification: i.justification,
        }
    }
}

/// A change to an approved registration's protection window.
#[derive(InputObject, Debug)]
pub struct ProtectionExtensionInput {
    /// The APPROVED registration.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// Days to add (1 to 365), counted from the current end of the window (or from now, if it
    /// already passed).
    pub days: i32,
    /// Why (required when a partner asks; optional for the vendor).
    pub reason: Option<String>,
}

impl From<ProtectionExtensionInput> for data::ProtectionExtension {
    fn from(i: ProtectionExtensionInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            days: i.days,
            reason: i.reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Idempotency fingerprints stored before the data layer had commands of its own hash the
    /// derived `Debug` of these input types: the data layer must still write the same text.
    #[test]
    fn submissions_fingerprint_as_before() {
        let draft = |opportunity_id: Option<&str>| RegistrationDraftInput {
            opportunity_id: opportunity_id.map(ID::from),
            account_domain: Some("acme.com".into()),
            account_name: Some("Acme \"Tools\"\n".into()),
            deal_name: None,
            amount: Some(MinorUnits(125_000)),
            currency: Some("EUR".into()),
            expected_close_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).map(Date),
            role: RegistrationRole::SystemIntegrator,
            justification: "We ran the pilot.".into(),
            private_notes: None,
        };
        let inputs = [
            SubmitRegistrationInput {
                id: None,
                expected_version: None,
                draft: Some(draft(None)),
                idempotency_key: Some("k".into()),
            },
            SubmitRegistrationInput {
                id: None,
                expected_version: None,
                draft: Some(draft(Some("T3Bwb3J0dW5pdHk6Nw"))),
                idempotency_key: None,
            },
            SubmitRegistrationInput {
                id: Some(ID::from("UmVnaXN0cmF0aW9uOjQ")),
                expected_version: Some(3),
                draft: None,
                idempotency_key: Some("k".into()),
            },
        ];
        for input in inputs {
            let before = format!(
                "{:?}|{:?}|{:?}",
                input.id, input.expected_version, input.draft
            );
            let command = data::SubmitRegistration::from(input);
            assert_eq!(
                crate::db::registrations::submission::request_text(&command),
                before
            );
        }
    }
}

//! Contact inputs: a contact's details, create, update, mark and bulk upsert, links between
//! contacts and recorded engagements.

use async_graphql::{InputObject, ID};
use entity::enums::{
    BuyingRole, ContactLinkKind, ContactStatus, EngagementKind, Seniority, Sentiment,
};

use crate::db::contacts::{self as data, engagements, writes};
use crate::scalars::{Date, DateTime};

/// Filters on the contact list; all given must match.
#[derive(InputObject, Debug, Default)]
pub struct ContactFilter {
    /// Only contacts at this account.
    pub account_id: Option<ID>,
    /// Only contacts in one of these statuses.
    pub status_in: Option<Vec<ContactStatus>>,
    /// Only contacts changed at or after this time: pass the time your last sync started to
    /// fetch what changed since.
    pub updated_since: Option<DateTime>,
}

impl From<ContactFilter> for data::ContactFilter {
    fn from(f: ContactFilter) -> Self {
        Self {
            account_id: f.account_id.map(|a| a.to_string()),
            status_in: f.status_in,
            updated_since: f.updated_since.map(|t| t.0),
        }
    }
}

/// A stakeholder's details.
#[derive(InputObject, Debug, Clone)]
pub struct ContactFields {
    /// Full name (1 to 200 characters).
    pub name: String,
    /// Email address; unique at the account, compared case-insensitively.
    pub email: String,
    /// Job title.
    pub title: Option<String>,
    /// Department, e.g. "Finance" (used for threading coverage).
    pub department: Option<String>,
    /// Seniority.
    pub seniority: Option<Seniority>,
    /// The part the contact plays in the buying decision.
    pub buying_role: Option<BuyingRole>,
    /// Share with every party on the account's deals (default false: only the vendor and the
    /// sourcing party see it).
    pub shared: Option<bool>,
}

impl From<ContactFields> for writes::ContactFields {
    fn from(f: ContactFields) -> Self {
        Self {
            name: f.name,
            email: f.email,
            title: f.title,
            department: f.department,
            seniority: f.seniority,
            buying_role: f.buying_role,
            shared: f.shared,
        }
    }
}

/// A new contact at an account.
#[derive(InputObject, Debug)]
pub struct CreateContactInput {
    /// The account (for a partner: one of the accounts of its deals).
    pub account_id: ID,
    /// The contact's details.
    pub contact: ContactFields,
}

impl From<CreateContactInput> for writes::CreateContact {
    fn from(i: CreateContactInput) -> Self {
        Self {
            account_id: i.account_id.0,
            contact: i.contact.into(),
        }
    }
}

/// Replaces a contact's details.
#[derive(InputObject, Debug)]
pub struct UpdateContactInput {
    /// The contact.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// The new details.
    pub contact: ContactFields,
}

impl From<UpdateContactInput> for writes::UpdateContact {
    fn from(i: UpdateContactInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            contact: i.contact.into(),
        }
    }
}

/// A change in a contact's reachability.
#[derive(InputObject, Debug)]
pub struct MarkContactInput {
    /// The contact.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// LEFT_COMPANY, ROLE_CHANGED, UNRESPONSIVE, or ACTIVE again.
    pub status: ContactStatus,
    /// Who took over, a contact at the same account.
    pub successor_id: Option<ID>,
}

impl From<MarkContactInput> for writes::MarkContact {
    fn from(i: MarkContactInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            status: i.status,
            successor_id: i.successor_id.map(|s| s.0),
        }
    }
}

/// Contacts to create or update at one account, matched by email.
#[derive(InputObject, Debug)]
pub struct UpsertContactsInput {
    /// The account.
    pub account_id: ID,
    /// Up to 500 contacts; an email already at the account updates that contact.
    pub contacts: Vec<ContactFields>,
    /// Write the good items even if some are bad (default false: one bad item writes nothing).
    #[graphql(default)]
    pub allow_partial: bool,
}

impl From<UpsertContactsInput> for writes::UpsertContacts {
    fn from(i: UpsertContactsInput) -> Self {
        Self {
            account_id: i.account_id.0,
            contacts: i.contacts.into_iter().map(Into::into).collect(),
            allow_partial: i.allow_partial,
        }
    }
}

/// A link between two contacts at the same account.
#[derive(InputObject, Debug)]
pub struct LinkContactsInput {
    /// The contact the link starts from (for REPORTS_TO: the report).
    pub from_contact_id: ID,
    /// The contact it points to (for REPORTS_TO: the manager).
    pub to_contact_id: ID,
    /// REPORTS_TO, INFLUENCES or WORKS_WITH.
    pub kind: ContactLinkKind,
}

impl From<LinkContactsInput> for writes::LinkContacts {
    fn from(i: LinkContactsInput) -> Self {
        Self {
            from_contact_id: i.from_contact_id.0,
            to_contact_id: i.to_contact_id.0,
            kind: i.kind,
        }
    }
}

/// A touch with a contact, recorded by your party.
#[derive(InputObject, Debug)]
pub struct RecordEngagementInput {
    /// The contact (one you can see).
    pub contact_id: ID,
    /// MEETING, CALL, EMAIL, DEMO, EVENT or WORKSHOP.
    pub kind: EngagementKind,
    /// When it happened (not in the future).
    pub occurred_on: Date,
    /// How the contact came across.
    pub sentiment: Sentiment,
    /// The deal it was about, if any (one you can see, at the contact's account).
    pub opportunity_id: Option<ID>,
    /// Notes only your party and the vendor can read (at most 4000 characters).
    pub notes: Option<String>,
}

impl From<RecordEngagementInput> for engagements::RecordEngagement {
    fn from(i: RecordEngagementInput) -> Self {
        Self {
            contact_id: i.contact_id.0,
            kind: i.kind,
            occurred_on: i.occurred_on.0,
            sentiment: i.sentiment,
            opportunity_id: i.opportunity_id.map(|o| o.0),
            notes: i.notes,
        }
    }
}

/// Sharing one contact with every party on its account's deals.
#[derive(InputObject, Debug)]
pub struct ShareContactInput {
    /// The contact.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
}

//! Account inputs: the list's filter and order, and the create and update commands.

use async_graphql::{Enum, InputObject, ID};

use crate::db::accounts as data;

/// Filters for the account list.
#[derive(InputObject, Default, Debug)]
pub struct AccountFilter {
    /// Case-insensitive substring of the account's name (at most 200 characters).
    pub name_contains: Option<String>,
    /// Exact web domain; normalised first, so `https://www.acme.com/` finds `acme.com`.
    pub domain: Option<String>,
    /// Exact industry label.
    pub industry: Option<String>,
    /// Exact region label.
    pub region: Option<String>,
}

impl From<AccountFilter> for data::AccountFilter {
    fn from(f: AccountFilter) -> Self {
        Self {
            name_contains: f.name_contains,
            domain: f.domain,
            industry: f.industry,
            region: f.region,
        }
    }
}

/// Orders of the account list.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::db::accounts::AccountOrder")]
pub enum AccountOrder {
    /// Alphabetical by name.
    NameAsc,
    /// Reverse alphabetical by name.
    NameDesc,
    /// Oldest first.
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
}

/// A new customer account.
#[derive(InputObject, Debug)]
pub struct CreateAccountInput {
    /// Company name (1 to 200 characters).
    pub name: String,
    /// Web domain, e.g. `acme.com`; normalised (lower case, no scheme, no `www.`) and unique.
    pub domain: String,
    /// Industry label, e.g. "Manufacturing".
    pub industry: Option<String>,
    /// Sales region label, e.g. "EMEA".
    pub region: Option<String>,
}

impl From<CreateAccountInput> for data::CreateAccount {
    fn from(i: CreateAccountInput) -> Self {
        Self {
            name: i.name,
            domain: i.domain,
            industry: i.industry,
            region: i.region,
        }
    }
}

/// Changes to an account. Omitted fields keep their value; an empty string clears an optional
/// label.
#[derive(InputObject, Debug)]
pub struct UpdateAccountInput {
    /// The account to change.
    pub id: ID,
    /// The version you read; the change is refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// New company name.
    pub name: Option<String>,
    /// New web domain (normalised and unique).
    pub domain: Option<String>,
    /// New industry label.
    pub industry: Option<String>,
    /// New region label.
    pub region: Option<String>,
}

impl From<UpdateAccountInput> for data::UpdateAccount {
    fn from(i: UpdateAccountInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            name: i.name,
            domain: i.domain,
            industry: i.industry,
            region: i.region,
        }
    }
}

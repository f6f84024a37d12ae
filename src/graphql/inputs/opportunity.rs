//! Opportunity inputs: the list's filter and order, create and update, and the stage moves.

use async_graphql::{Enum, InputObject, ID};
use entity::enums::OpportunityStage;

use crate::db::opportunities as data;
use crate::scalars::{Date, MinorUnits};

/// Filters for the opportunity list; all given filters must match.
#[derive(InputObject, Default, Debug)]
pub struct OpportunityFilter {
    /// Only opportunities in one of these stages.
    pub stage_in: Option<Vec<OpportunityStage>>,
    /// Only opportunities at this account.
    pub account_id: Option<ID>,
    /// Only opportunities owned by this vendor seller (exact match).
    pub owner: Option<String>,
    /// Only opportunities in this region (exact match).
    pub region: Option<String>,
    /// Expected close on or after this date.
    pub close_date_from: Option<Date>,
    /// Expected close on or before this date.
    pub close_date_to: Option<Date>,
    /// Amount at least this many minor units (compare within one currency).
    pub amount_min: Option<MinorUnits>,
    /// Amount at most this many minor units.
    pub amount_max: Option<MinorUnits>,
    /// Only amounts in this ISO 4217 currency.
    pub currency: Option<String>,
    /// Case-insensitive substring of the opportunity's name (at most 200 characters).
    pub name_contains: Option<String>,
}

impl From<OpportunityFilter> for data::OpportunityFilter {
    fn from(f: OpportunityFilter) -> Self {
        Self {
            stage_in: f.stage_in,
            account_id: f.account_id.map(|a| a.0),
            owner: f.owner,
            region: f.region,
            close_date_from: f.close_date_from.map(|d| d.0),
            close_date_to: f.close_date_to.map(|d| d.0),
            amount_min: f.amount_min.map(|a| a.0),
            amount_max: f.amount_max.map(|a| a.0),
            currency: f.currency,
            name_contains: f.name_contains,
        }
    }
}

/// Orders of the opportunity list. Ties are broken by creation order: oldest first in
/// ascending orders, newest first in descending ones.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::db::opportunities::OpportunityOrder")]
pub enum OpportunityOrder {
    /// Oldest first.
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
    /// Least recently changed first.
    UpdatedAsc,
    /// Most recently changed first.
    UpdatedDesc,
    /// Alphabetical by name.
    NameAsc,
    /// Reverse alphabetical by name.
    NameDesc,
    /// Smallest amount first (minor units, whatever the currency).
    AmountAsc,
    /// Largest amount first.
    AmountDesc,
    /// Soonest expected close first.
    CloseDateAsc,
    /// Latest expected close first.
    CloseDateDesc,
}

/// A new opportunity.
#[derive(InputObject, Debug)]
pub struct CreateOpportunityInput {
    /// The customer account.
    pub account_id: ID,
    /// Deal name (1 to 200 characters).
    pub name: String,
    /// Starting stage; PROSPECTING when omitted.
    pub stage: Option<OpportunityStage>,
    /// Deal value in minor units of `currency`.
    pub amount: MinorUnits,
    /// ISO 4217 currency code, e.g. "USD".
    pub currency: String,
    /// When the deal is expected to close.
    pub expected_close_date: Date,
    /// The vendor seller who owns the deal; you when omitted.
    pub owner: Option<String>,
    /// Sales region; the account's region when omitted.
    pub region: Option<String>,
    /// Product names on the deal (at most 50).
    #[graphql(default)]
    pub products: Vec<String>,
    /// Vendor-internal forecast commentary, never shown to partners.
    pub forecast_notes: Option<String>,
    /// Vendor-internal win probability in percent (0 to 100), never shown to partners.
    pub probability: Option<i32>,
}

impl From<CreateOpportunityInput> for data::CreateOpportunity {
    fn from(i: CreateOpportunityInput) -> Self {
        Self {
            account_id: i.account_id.0,
            name: i.name,
            stage: i.stage,
            amount: i.amount.0,
            currency: i.currency,
            expected_close_date: i.expected_close_date.0,
            owner: i.owner,
            region: i.region,
            products: i.products,
            forecast_notes: i.forecast_notes,
            probability: i.probability,
        }
    }
}

/// Changes to an opportunity's fields. Omitted fields keep their value. The stage changes only
/// through moveOpportunityStage and reopenOpportunity.
#[derive(InputObject, Debug)]
pub struct UpdateOpportunityInput {
    /// The opportunity to change.
    pub id: ID,
    /// The version you read; the change is refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// New deal name.
    pub name: Option<String>,
    /// New amount in minor units.
    pub amount: Option<MinorUnits>,
    /// New ISO 4217 currency code.
    pub currency: Option<String>,
    /// New expected close date.
    pub expected_close_date: Option<Date>,
    /// New owning vendor seller.
    pub owner: Option<String>,
    /// New region; an empty string clears it.
    pub region: Option<String>,
    /// Replaces the product list.
    pub products: Option<Vec<String>>,
    /// New forecast commentary; an empty string clears it.
    pub forecast_notes: Option<String>,
    /// New win probability in percent.
    pub probability: Option<i32>,
}

impl From<UpdateOpportunityInput> for data::UpdateOpportunity {
    fn from(i: UpdateOpportunityInput) -> Self {
        Self {
            id: i.id.0,
            expected_version: i.expected_version,
            name: i.name,
            amount: i.amount.map(|a| a.0),
            currency: i.currency,
            expected_close_date: i.expected_close_date.map(|d| d.0),
            owner: i.owner,
            region: i.region,
            products: i.products,
            forecast_notes: i.forecast_notes,
            probability: i.probability,
        }
    }
}

/// Moves an opportunity to another stage.
#[derive(InputObject, Debug)]
pub struct MoveOpportunityStageInput {
    /// The opportunity to move.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// The new stage. Closed stages (CLOSED_WON, CLOSED_LOST) are final.
    pub stage: OpportunityStage,
    /// Why, recorded in the stage history (at most 1000 characters).
    pub reason: Option<String>,
}

/// Reopens a closed opportunity (vendor ADMIN only).
#[derive(InputObject, Debug)]
pub struct ReopenOpportunityInput {
    /// The closed opportunity.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// The open stage to return to.
    pub stage: OpportunityStage,
    /// Why it is reopened; required, recorded in the stage history.
    pub reason: String,
}

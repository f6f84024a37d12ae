//! Who may see what, each rule written once in the two forms it is needed in: the SQL
//! condition data access reads with ([`Rule::condition`]), and the same rule over rows already
//! in memory ([`Rule::admits`]) for what arrives without a query (live events) and for checks.
//! The rules themselves are in `scope/rules.rs`, who hears of a change in `scope/audience.rs`;
//! the unit tests generate programs and check the two forms agree on every row for every kind
//! of caller.
//!
//! The rules (DESIGN.md, "Authorization"): the vendor sees everything; a partner sees its own
//! organisation, claims and engagements, the deals it holds a sent claim on (see [`SEES_DEAL`]),
//! their accounts, the contacts it sourced and the contacts shared on those accounts, and the
//! conflicts on its own claims; an app sees what its scopes allow of what the party it acts for
//! sees.

use entity::enums::RegistrationStatus;
use entity::{opportunity, registration};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

use super::principal::{Party, Principal, Resource};

/// What one caller may see of one kind of row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// An app whose scopes do not cover the resource.
    Nothing,
    /// The vendor.
    Everything,
    /// One partner organisation's part.
    Partner(i64),
}

impl View {
    pub fn of(principal: &Principal, resource: Resource) -> Self {
        if !principal.may_read(resource) {
            return Self::Nothing;
        }
        match principal.party {
            Party::Vendor => Self::Everything,
            Party::Partner(id) => Self::Partner(id),
        }
    }
}

/// Statuses in which a partner's claim lets it see the deal's shared state: a claim it sent
/// (open or decided in its favour), never a draft it has not sent, nor one withdrawn or
/// rejected. A draft can only name a deal the partner already sees through such a claim, and it
/// does not keep the deal in sight once that claim ends.
pub const SEES_DEAL: [RegistrationStatus; 7] = [
    RegistrationStatus::Submitted,
    RegistrationStatus::UnderReview,
    RegistrationStatus::NeedsInfo,
    RegistrationStatus::Approved,
    RegistrationStatus::Won,
    RegistrationStatus::Lost,
    RegistrationStatus::Expired,
];

/// Whether claim `r` puts its partner on its deal (the in-memory form of [`deal_claims`]).
pub fn shows_deal(r: &registration::Model) -> bool {
    r.opportunity_id.is_some() && SEES_DEAL.contains(&r.status)
}

/// The claims that put their partner on their deal (the SQL form of [`shows_deal`]).
pub fn deal_claims() -> Condition {
    Condition::all()
        .add(registration::Column::OpportunityId.is_not_null())
        .add(registration::Column::Status.is_in(SEES_DEAL))
}

/// The partners on deal `opportunity` (the SQL form of the partners [`Facts::on_deal`] names).
pub fn partners_on_deal(opportunity: i64) -> SelectStatement {
    Query::select()
        .distinct()
        .column(registration::Column::PartnerId)
        .from(registration::Entity)
        .and_where(Expr::col(registration::Column::OpportunityId).eq(opportunity))
        .cond_where(deal_claims())
        .to_owned()
}

/// Opportunity ids a partner is on.
pub fn deals_of_partner(partner_id: i64) -> SelectStatement {
    Query::select()
        .column(registration::Column::OpportunityId)
        .from(registration::Entity)
        .and_where(Expr::col(registration::Column::PartnerId).eq(partner_id))
        .cond_where(deal_claims())
        .to_owned()
}

/// Account ids of the deals a partner is on: the SQL form of [`Facts::on_account`]. Read from
/// `partner_accounts`, which triggers keep in every transaction that changes a claim's partner,
/// deal or status (or moves a deal to another account): a pair for each partner and account
/// with the number of the partner's [`deal_claims`] on deals at the account, none at zero. A
/// partner's few thousand pairs are read from the key alone, instead of joining each of its
/// claims to its deal.
pub fn accounts_of_partner(partner_id: i64) -> SelectStatement {
    Query::select()
        .column((PartnerAccounts::Table, PartnerAccounts::AccountId))
        .from(PartnerAccounts::Table)
        .and_where(Expr::col((PartnerAccounts::Table, PartnerAccounts::PartnerId)).eq(partner_id))
        .to_owned()
}

/// The table behind [`accounts_of_partner`] (migration 34 says how it is kept).
#[derive(sea_orm::DeriveIden)]
enum PartnerAccounts {
    Table,
    PartnerId,
    AccountId,
}

/// The rows the in-memory forms consult besides the row itself: the claims and the deals of
/// the program (or of the part of it at hand).
#[derive(Clone, Copy, Default)]
pub struct Facts<'a> {
    pub claims: &'a [registration::Model],
    pub deals: &'a [opportunity::Model],
}

impl Facts<'_> {
    /// Whether `partner` is on deal `opportunity`.
    pub fn on_deal(&self, partner: i64, opportunity: i64) -> bool {
        self.claims.iter().any(|r| {
            r.partner_id == partner && r.opportunity_id == Some(opportunity) && shows_deal(r)
        })
    }

    /// Whether `partner` is on a deal at `account`.
    pub fn on_account(&self, partner: i64, account: i64) -> bool {
        self.deals
            .iter()
            .any(|d| d.account_id == account && self.on_deal(partner, d.id))
    }
}

/// The kinds of data the rules read. Every event names the kind of its subject
/// (`Topic::subject`), and its audience comes from that kind's rule ([`heard`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    Partner,
    Registration,
    Opportunity,
    Account,
    Contact,
    Engagement,
    Conflict,
    Invitation,
    WebhookEndpoint,
    /// The program's terms (collaboration rules): the vendor's to change.
    Program,
    /// The split of a deal's credit between its parties.
    Attribution,
}

/// The partners that hear of a change to a row, besides the vendor (who hears of every
/// change): listed from the row itself, or found by a query of partner ids.
pub enum Hearing {
    Listed(Vec<i64>),
    /// A `SELECT` of one column of partner ids.
    Query(Box<SelectStatement>),
}

/// One "who may see this kind of row" rule, in both forms, and who hears of its changes.
pub trait Rule {
    /// The kind of data: events about these rows name it as their subject.
    const SUBJECT: Subject;
    /// Why some readers of these rows are not told of their changes by events, for a rule
    /// whose audience is narrower than its readers; `None`: every reader is told (the
    /// agreement test checks either way, and that nobody else is).
    const NARROWER: Option<&'static str> = None;
    /// The partners that hear of a change to `row`: those whose read rule admits it.
    fn hearing(row: &Self::Row) -> Hearing;
    type Row;
    /// How the rule tells callers apart: [`View`] for most rows (the party, and whether an
    /// app's scopes reach the rows at all).
    type View: Clone + std::fmt::Debug;
    /// The caller's view under this rule.
    fn view(principal: &Principal) -> Self::View;
    /// The SQL condition on the rule's table for `view`.
    fn condition(view: Self::View) -> Condition;
    /// The same rule for one row already read, with the `facts` it depends on.
    fn admits(view: Self::View, row: &Self::Row, facts: &Facts) -> bool;
}

/// The SQL condition of rule `R` for `principal`.
pub fn condition<R: Rule>(principal: &Principal) -> Condition {
    R::condition(R::view(principal))
}

/// A condition that matches no row.
fn nothing() -> Condition {
    Condition::all().add(Expr::cust("1 = 0"))
}

mod audience;
mod rules;

pub use audience::{heard, heard_by_row, Audience, Events, Heard, NamesAudience};
pub use rules::{
    Accounts, AttributionRows, AttributionVersions, Conflicts, Contacts, Engagements, Invitations,
    Opportunities, Owner, Partners, Registrations, WebhookEndpoints,
};

#[cfg(test)]
mod tests;

//! Who may see what, each rule written once in the two forms it is needed in: the SQL
//! condition data access reads with ([`Rule::condition`]), and the same rule over rows already
//! in memory ([`Rule::admits`]) for what arrives without a query (live events) and for checks.
//! The unit test at the end generates programs and checks the two forms agree on every row
//! for every kind of caller.
//!
//! The rules (DESIGN.md, "Authorization"): the vendor sees everything; a partner sees its own
//! organisation, claims and engagements, the deals it holds a sent claim on (see [`SEES_DEAL`]),
//! their accounts, the contacts it sourced and the contacts shared on those accounts, and the
//! conflicts on its own claims; an app sees what its scopes allow of what the party it acts for
//! sees.

use entity::enums::RegistrationStatus;
use entity::{
    account, conflict, contact, engagement, event, invitation, opportunity, partner, registration,
    webhook_endpoint,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

use super::principal::{Party, Principal, PrincipalKind, Resource};

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

/// Opportunity ids a partner is on.
pub fn deals_of_partner(partner_id: i64) -> SelectStatement {
    Query::select()
        .column(registration::Column::OpportunityId)
        .from(registration::Entity)
        .and_where(Expr::col(registration::Column::PartnerId).eq(partner_id))
        .cond_where(deal_claims())
        .to_owned()
}

/// Account ids of the deals a partner is on.
pub fn accounts_of_partner(partner_id: i64) -> SelectStatement {
    Query::select()
        .column(opportunity::Column::AccountId)
        .from(opportunity::Entity)
        .and_where(Expr::col(opportunity::Column::Id).in_subquery(deals_of_partner(partner_id)))
        .to_owned()
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

/// One "who may see this kind of row" rule, in both forms.
pub trait Rule {
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

/// Partners: the vendor sees all, a partner its own organisation.
pub struct Partners;

impl Rule for Partners {
    type Row = partner::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Partners)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => Condition::all().add(partner::Column::Id.eq(p)),
        }
    }
    fn admits(view: View, row: &partner::Model, _: &Facts) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => row.id == p,
        }
    }
}

/// Registrations (claims): a partner sees its own, whatever their status.
pub struct Registrations;

impl Rule for Registrations {
    type Row = registration::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Registrations)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => Condition::all().add(registration::Column::PartnerId.eq(p)),
        }
    }
    fn admits(view: View, row: &registration::Model, _: &Facts) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => row.partner_id == p,
        }
    }
}

/// Opportunities: a partner sees the deals it is on.
pub struct Opportunities;

impl Rule for Opportunities {
    type Row = opportunity::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Opportunities)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => {
                Condition::all().add(opportunity::Column::Id.in_subquery(deals_of_partner(p)))
            }
        }
    }
    fn admits(view: View, row: &opportunity::Model, facts: &Facts) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => facts.on_deal(p, row.id),
        }
    }
}

/// Accounts: a partner sees the customers of the deals it is on.
pub struct Accounts;

impl Rule for Accounts {
    type Row = account::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Accounts)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => {
                Condition::all().add(account::Column::Id.in_subquery(accounts_of_partner(p)))
            }
        }
    }
    fn admits(view: View, row: &account::Model, facts: &Facts) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => facts.on_account(p, row.id),
        }
    }
}

/// Contacts: a partner sees those it sourced, and those shared at the accounts of its deals.
pub struct Contacts;

impl Rule for Contacts {
    type Row = contact::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Contacts)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => Condition::any()
                .add(contact::Column::SourcedByPartnerId.eq(p))
                .add(
                    Condition::all()
                        .add(contact::Column::Shared.eq(true))
                        .add(contact::Column::AccountId.in_subquery(accounts_of_partner(p))),
                ),
        }
    }
    fn admits(view: View, row: &contact::Model, facts: &Facts) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => {
                row.sourced_by_partner_id == Some(p)
                    || (row.shared && facts.on_account(p, row.account_id))
            }
        }
    }
}

/// Engagements: a partner sees its own touches only; the rule reads with the contacts scope.
pub struct Engagements;

impl Rule for Engagements {
    type Row = engagement::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Contacts)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => Condition::all().add(engagement::Column::PartnerId.eq(p)),
        }
    }
    fn admits(view: View, row: &engagement::Model, _: &Facts) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => row.partner_id == Some(p),
        }
    }
}

/// Conflicts: whoever sees the held claim sees its conflict (the vendor all of them, a partner
/// those on its own claims); read with the registrations scope.
pub struct Conflicts;

impl Rule for Conflicts {
    type Row = conflict::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Registrations)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Everything => Condition::all(),
            other => Condition::all().add(
                conflict::Column::RegistrationId.in_subquery(
                    Query::select()
                        .column(registration::Column::Id)
                        .from(registration::Entity)
                        .cond_where(Registrations::condition(other))
                        .to_owned(),
                ),
            ),
        }
    }
    fn admits(view: View, row: &conflict::Model, facts: &Facts) -> bool {
        match view {
            View::Everything => true,
            other => facts
                .claims
                .iter()
                .any(|r| r.id == row.registration_id && Registrations::admits(other, r, facts)),
        }
    }
}

/// Invitations: a partner sees those made to it, never another invitee's; read with the
/// registrations scope.
pub struct Invitations;

impl Rule for Invitations {
    type Row = invitation::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Registrations)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => Condition::all().add(invitation::Column::PartnerId.eq(p)),
        }
    }
    fn admits(view: View, row: &invitation::Model, _: &Facts) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => row.partner_id == p,
        }
    }
}

/// Whose webhook endpoints a caller sees (and, with `can::ManageWebhooks`, manages).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// An app without `events:read`.
    Nobody,
    /// The vendor's people: every endpoint.
    Everyone,
    /// The endpoints registered by this party's people (`app: None`), or by this app.
    Own {
        /// The partner, or `None` for the vendor.
        partner: Option<i64>,
        /// The app's subject, for an app.
        app: Option<String>,
    },
}

/// Webhook endpoints: the vendor's people see every endpoint; a partner's people those their
/// partner's people registered; an app only those it registered itself (apps are told apart by
/// their subject), with `events:read`.
pub struct WebhookEndpoints;

impl Rule for WebhookEndpoints {
    type Row = webhook_endpoint::Model;
    type View = Owner;
    fn view(principal: &Principal) -> Owner {
        let partner = principal.partner_id();
        match principal.kind {
            PrincipalKind::App if !principal.may_read(Resource::Events) => Owner::Nobody,
            PrincipalKind::App => Owner::Own {
                partner,
                app: Some(principal.subject.clone()),
            },
            _ if partner.is_none() => Owner::Everyone,
            _ => Owner::Own { partner, app: None },
        }
    }
    fn condition(view: Owner) -> Condition {
        use webhook_endpoint::Column as C;
        match view {
            Owner::Nobody => nothing(),
            Owner::Everyone => Condition::all(),
            Owner::Own { partner, app } => Condition::all()
                .add(match partner {
                    Some(p) => C::OwnerPartnerId.eq(p),
                    None => C::OwnerPartnerId.is_null(),
                })
                .add(match app {
                    Some(a) => C::OwnerApp.eq(a),
                    None => C::OwnerApp.is_null(),
                }),
        }
    }
    fn admits(view: Owner, row: &webhook_endpoint::Model, _: &Facts) -> bool {
        match view {
            Owner::Nobody => false,
            Owner::Everyone => true,
            Owner::Own { partner, app } => row.owner_partner_id == partner && row.owner_app == app,
        }
    }
}

impl Contacts {
    /// The contacts the vendor may pass on to another party (in an invitation's snapshot):
    /// its own and those their partner shared, never a partner's private ones.
    pub fn shareable() -> Condition {
        Condition::any()
            .add(contact::Column::SourcedByPartnerId.is_null())
            .add(contact::Column::Shared.eq(true))
    }

    /// [`Contacts::shareable`] for a contact already read.
    pub fn is_shareable(row: &contact::Model) -> bool {
        row.sourced_by_partner_id.is_none() || row.shared
    }
}

/// Who hears of an event: the parties named in its audience, when it is written. The party's
/// tag is the one spelling of it in the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Audience {
    Vendor,
    Partner(i64),
}

impl Audience {
    /// The tag stored with the event (`vendor`, `partner:<id>`).
    pub fn tag(self) -> String {
        match self {
            Self::Vendor => "vendor".into(),
            Self::Partner(id) => format!("partner:{id}"),
        }
    }

    /// The audience a principal belongs to: its party.
    pub fn of(principal: &Principal) -> Self {
        match principal.party {
            Party::Vendor => Self::Vendor,
            Party::Partner(id) => Self::Partner(id),
        }
    }
}

/// Events: a party hears of an event whose audience names it, the vendor included (it is not
/// in the audience of what is written for partners alone). Unlike the row rules above, the
/// rule is on the party, not on the app's scopes: each subscription checks its own scope.
pub struct Events;

impl Events {
    /// The ids of the events `audience` hears of, through the (party, event id) index.
    pub fn heard_by(audience: Audience) -> SelectStatement {
        Query::select()
            .column(Alias::new("event_id"))
            .from(Alias::new("event_audiences"))
            .and_where(Expr::col(Alias::new("party")).eq(audience.tag()))
            .to_owned()
    }

    /// The SQL condition on `events`.
    pub fn condition(audience: Audience) -> Condition {
        Condition::all().add(event::Column::Id.in_subquery(Self::heard_by(audience)))
    }

    /// The same rule for an event already read.
    pub fn admits(audience: Audience, ev: &event::Model) -> bool {
        let tag = audience.tag();
        ev.audience
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t.as_str() == Some(tag.as_str())))
    }
}

#[cfg(test)]
mod tests;

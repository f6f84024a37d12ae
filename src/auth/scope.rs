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

/// Partners: the vendor sees all, a partner its own organisation.
pub struct Partners;

impl Rule for Partners {
    const SUBJECT: Subject = Subject::Partner;
    fn hearing(row: &partner::Model) -> Hearing {
        Hearing::Listed(Self::named(row))
    }
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
    const SUBJECT: Subject = Subject::Registration;
    fn hearing(row: &registration::Model) -> Hearing {
        Hearing::Listed(Self::named(row))
    }
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
    const SUBJECT: Subject = Subject::Opportunity;
    fn hearing(row: &opportunity::Model) -> Hearing {
        Hearing::Query(Box::new(partners_on_deal(row.id)))
    }
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
    const SUBJECT: Subject = Subject::Account;
    const NARROWER: Option<&'static str> = Some(
        "a customer's record is the vendor's: partners on its deals read it, and hear of their \
         deals' changes, not of the account's",
    );
    fn hearing(row: &account::Model) -> Hearing {
        Hearing::Listed(Self::named(row))
    }
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
    const SUBJECT: Subject = Subject::Contact;
    const NARROWER: Option<&'static str> = Some(
        "a contact's changes are told to whoever keeps the record (the vendor, and the partner \
         that sourced it); partners who read a shared contact through a deal at its account \
         hear what it means for their deal (`threading.risk_raised`) and read its current \
         state with `contacts(filter: { updatedSince })`",
    );
    fn hearing(row: &contact::Model) -> Hearing {
        Hearing::Listed(Self::named(row))
    }
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
    const SUBJECT: Subject = Subject::Engagement;
    fn hearing(row: &engagement::Model) -> Hearing {
        Hearing::Listed(Self::named(row))
    }
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
    const SUBJECT: Subject = Subject::Conflict;
    fn hearing(row: &conflict::Model) -> Hearing {
        Hearing::Query(Box::new(
            Query::select()
                .column(registration::Column::PartnerId)
                .from(registration::Entity)
                .and_where(Expr::col(registration::Column::Id).eq(row.registration_id))
                .to_owned(),
        ))
    }
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
    const SUBJECT: Subject = Subject::Invitation;
    fn hearing(row: &invitation::Model) -> Hearing {
        Hearing::Listed(Self::named(row))
    }
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
    const SUBJECT: Subject = Subject::WebhookEndpoint;
    fn hearing(row: &webhook_endpoint::Model) -> Hearing {
        Hearing::Listed(Self::named(row))
    }
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

/// Who hears of one change: the vendor and the partners the subject's rule names. Only this
/// module makes one ([`heard`], [`Heard::vendor`]), so an event's audience always comes from
/// the read rule of what it is about, or is a part of that audience.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heard {
    subject: Subject,
    parties: Vec<Audience>,
}

impl Heard {
    /// The vendor alone, of a change to `subject`: a part of every audience (the vendor reads
    /// everything).
    pub fn vendor(subject: Subject) -> Self {
        Self {
            subject,
            parties: vec![Audience::Vendor],
        }
    }

    /// What the event is about.
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// The parties, the vendor first.
    pub fn parties(&self) -> &[Audience] {
        &self.parties
    }

    /// This audience without the vendor (a partners' version of an event whose vendor
    /// version says more).
    pub fn partners(&self) -> Self {
        Self {
            subject: self.subject,
            parties: self
                .parties
                .iter()
                .copied()
                .filter(|a| *a != Audience::Vendor)
                .collect(),
        }
    }

    /// Whether nobody is in it.
    pub fn is_empty(&self) -> bool {
        self.parties.is_empty()
    }
}

/// A rule whose audience the row itself names (no query): [`heard_by_row`] gives it without a
/// database round trip.
pub trait NamesAudience: Rule {
    /// The partners that hear of a change to `row`.
    fn named(row: &Self::Row) -> Vec<i64>;
}

/// [`heard`] for a rule whose rows name their audience.
pub fn heard_by_row<R: NamesAudience>(row: &R::Row) -> Heard {
    heard_of::<R>(R::named(row))
}

fn heard_of<R: Rule>(mut partners: Vec<i64>) -> Heard {
    partners.sort_unstable();
    partners.dedup();
    let mut parties = vec![Audience::Vendor];
    parties.extend(partners.into_iter().map(Audience::Partner));
    Heard {
        subject: R::SUBJECT,
        parties,
    }
}

/// Who hears of a change to `row`: the vendor, and the partners rule `R` names for it (read
/// from the database when the rule needs to, e.g. the partners on a deal).
pub async fn heard<R: Rule, C: sea_orm::ConnectionTrait>(
    conn: &C,
    row: &R::Row,
) -> Result<Heard, sea_orm::DbErr> {
    // Nothing but the boxed read lives across the await: this future sits inside every
    // write's, whose size debug builds put on the stack.
    let query = match R::hearing(row) {
        Hearing::Listed(p) => return Ok(heard_of::<R>(p)),
        Hearing::Query(q) => conn.get_database_backend().build(&*q),
    };
    let partners = Box::pin(conn.query_all_raw(query))
        .await?
        .iter()
        .map(|r| r.try_get_by_index::<i64>(0))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(heard_of::<R>(partners))
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

impl NamesAudience for Partners {
    fn named(row: &partner::Model) -> Vec<i64> {
        vec![row.id]
    }
}

impl NamesAudience for Registrations {
    fn named(row: &registration::Model) -> Vec<i64> {
        vec![row.partner_id]
    }
}

impl NamesAudience for Engagements {
    fn named(row: &engagement::Model) -> Vec<i64> {
        row.partner_id.into_iter().collect()
    }
}

impl NamesAudience for Invitations {
    fn named(row: &invitation::Model) -> Vec<i64> {
        vec![row.partner_id]
    }
}

impl NamesAudience for WebhookEndpoints {
    fn named(row: &webhook_endpoint::Model) -> Vec<i64> {
        row.owner_partner_id.into_iter().collect()
    }
}

impl NamesAudience for Contacts {
    fn named(row: &contact::Model) -> Vec<i64> {
        row.sourced_by_partner_id.into_iter().collect()
    }
}

impl NamesAudience for Accounts {
    fn named(_: &account::Model) -> Vec<i64> {
        Vec::new()
    }
}

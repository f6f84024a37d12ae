//! The read rule of each kind of row, in its two forms: the SQL condition and the in-memory
//! check over a row already read.

use entity::attribution::{row as attribution_row, version as attribution_version};
use entity::{
    account, conflict, contact, engagement, invitation, opportunity, partner, registration,
    webhook_endpoint,
};
use sea_orm::sea_query::{Expr, ExprTrait, IntoIden, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

use super::{
    accounts_of_partner, deals_of_partner, nothing, partners_on_deal, Facts, Hearing,
    NamesAudience, Rule, Subject, View,
};
use crate::auth::principal::{Principal, PrincipalKind, Resource};

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

impl Registrations {
    /// The rule's condition on a column that holds a claim's partner (the key of a tally kept
    /// per partner, such as the claim and decision tallies): the vendor reads every partner's
    /// rows (and the rows kept for the program as a whole), a partner its own.
    pub fn on_partner(view: View, partner: Expr) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => Condition::all().add(partner.eq(p)),
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
        Self::on_id(view, opportunity::Column::Id)
    }
    fn admits(view: View, row: &opportunity::Model, facts: &Facts) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => facts.on_deal(p, row.id),
        }
    }
}

impl Opportunities {
    /// The rule's condition on a column that holds a deal's id (the key of a row kept per
    /// deal, such as its threading assessment): the rows of the deals the view admits, read
    /// without joining the deal.
    pub fn on_id(view: View, id: impl ColumnTrait) -> Condition {
        Self::on_key(view, id.as_column_ref())
    }

    /// [`Opportunities::on_id`] on a column named by its table and its own name (a kept table
    /// without an entity, such as the deals' kept names).
    pub fn on_key(view: View, key: (impl IntoIden, impl IntoIden)) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => {
                Condition::all().add(Expr::col(key).in_subquery(deals_of_partner(p)))
            }
        }
    }

    /// The condition on a row kept per deal, joined on its key to a deal the same statement
    /// reads under this rule (a page of deals with their kept assessments): the deal's row
    /// passed the rule, so its kept row needs nothing more.
    pub fn kept_of_admitted_deal() -> Condition {
        Condition::all()
    }

    /// [`Opportunities::on_key`] for `principal`.
    pub fn by_key(principal: &Principal, key: (impl IntoIden, impl IntoIden)) -> Condition {
        Self::on_key(Self::view(principal), key)
    }

    /// [`Opportunities::on_id`] for `principal`.
    pub fn by_id(principal: &Principal, id: impl ColumnTrait) -> Condition {
        Self::on_id(Self::view(principal), id)
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

impl Contacts {
    /// [`Rule::admits`] for a contact at an account the caller is known to see, because it was
    /// read through a deal there the caller is on (a deal's contact network): the account part
    /// of the rule holds, so a partner sees the contacts it sourced and the shared ones.
    pub fn admits_at_seen_account(view: View, row: &contact::Model) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => row.sourced_by_partner_id == Some(p) || row.shared,
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
    /// How many contacts `view` admits, as one statement with the number in its column `n`
    /// (the count of a whole contact list). Everything: the sum of `contact_tally`, contacts
    /// per source kept by triggers on contacts (migration 36). A partner: those it sourced,
    /// plus the shared contacts at its accounts (the sum of `partner_shared_tally`, kept per
    /// partner by triggers on the accounts' shared counts and the partners' accounts,
    /// migration 38), less those counted twice (sourced by it and shared at one of its
    /// accounts); each part reads the partner's own rows, never every shared contact. `None`
    /// for a caller without the scope, who reads no list.
    pub fn count(view: View) -> Option<SelectStatement> {
        use contact::Column as C;
        let p = match view {
            View::Nothing => return None,
            View::Everything => {
                return Some(
                    Query::select()
                        .expr_as(
                            Expr::cust("CAST(COALESCE(SUM(delta), 0) AS BIGINT)"),
                            sea_orm::sea_query::Alias::new("n"),
                        )
                        .from(ContactTally::Table)
                        .to_owned(),
                )
            }
            View::Partner(p) => p,
        };
        let sub = |q: SelectStatement| Expr::SubQuery(None, Box::new(q.into()));
        let sourced = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from(contact::Entity)
            .and_where(C::SourcedByPartnerId.eq(p))
            .to_owned();
        let shared = Query::select()
            .expr(Expr::cust("CAST(COALESCE(SUM(delta), 0) AS BIGINT)"))
            .from(PartnerSharedTally::Table)
            .and_where(Expr::col((PartnerSharedTally::Table, PartnerSharedTally::PartnerId)).eq(p))
            .to_owned();
        let twice = sourced
            .clone()
            .and_where(C::Shared.eq(true))
            .and_where(C::AccountId.in_subquery(accounts_of_partner(p)))
            .to_owned();
        Some(
            Query::select()
                .expr_as(
                    sub(sourced).add(sub(shared)).sub(sub(twice)),
                    sea_orm::sea_query::Alias::new("n"),
                )
                .to_owned(),
        )
    }

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

/// Contacts per source, kept as deltas (migration 36 says how).
#[derive(sea_orm::DeriveIden)]
enum ContactTally {
    Table,
}

/// The shared contacts at the accounts each partner is on, kept as deltas (migration 38 says
/// how).
#[derive(sea_orm::DeriveIden)]
enum PartnerSharedTally {
    Table,
    PartnerId,
}

/// Attribution rows (each party's share of a deal's credit, frozen when it is won, or a live
/// split's lines before): the vendor reads every row, a partner only its own and nothing of the
/// other partners' shares; an app needs the registrations scope (shares are claims).
pub struct AttributionRows;

impl AttributionRows {
    /// The rule over the party of a line (`None`: the vendor's own team), for a live split's
    /// lines, which are computed rather than read.
    pub fn admits_party(view: View, partner_id: Option<i64>) -> bool {
        match view {
            View::Nothing => false,
            View::Everything => true,
            View::Partner(p) => partner_id == Some(p),
        }
    }
}

impl Rule for AttributionRows {
    const SUBJECT: Subject = Subject::Attribution;
    fn hearing(row: &attribution_row::Model) -> Hearing {
        Hearing::Listed(Self::named(row))
    }
    type Row = attribution_row::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Registrations)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Nothing => nothing(),
            View::Everything => Condition::all(),
            View::Partner(p) => Condition::all().add(attribution_row::Column::PartnerId.eq(p)),
        }
    }
    fn admits(view: View, row: &attribution_row::Model, _: &Facts) -> bool {
        Self::admits_party(view, row.partner_id)
    }
}

/// Attribution versions (a won deal's split as frozen, then each correction): the vendor's
/// record of how credit was decided. A partner reads its own rows of the current version
/// instead ([`AttributionRows`]); an app needs the registrations scope.
pub struct AttributionVersions;

impl Rule for AttributionVersions {
    const SUBJECT: Subject = Subject::Attribution;
    fn hearing(_: &attribution_version::Model) -> Hearing {
        Hearing::Listed(vec![])
    }
    type Row = attribution_version::Model;
    type View = View;
    fn view(principal: &Principal) -> View {
        View::of(principal, Resource::Registrations)
    }
    fn condition(view: View) -> Condition {
        match view {
            View::Everything => Condition::all(),
            View::Nothing | View::Partner(_) => nothing(),
        }
    }
    fn admits(view: View, _: &attribution_version::Model, _: &Facts) -> bool {
        matches!(view, View::Everything)
    }
}

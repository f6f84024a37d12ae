//! Who hears of a change: the audience of each event comes from the read rule of what it is
//! about, and a party hears of the events whose audience names it.

use entity::{
    account, contact, engagement, event, invitation, partner, registration, webhook_endpoint,
};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition};

use super::rules::{
    Accounts, AttributionRows, Contacts, Engagements, Invitations, Partners, Registrations,
    WebhookEndpoints,
};
use super::{Hearing, Rule, Subject};
use crate::auth::principal::{Party, Principal};

/// Who hears of one change: the vendor and the partners the subject's rule names. Only this
/// module makes one ([`heard`], [`Heard::vendor`]), so an event's audience always comes from
/// the read rule of what it is about, or is a part of that audience.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heard {
    subject: Subject,
    parties: Vec<Audience>,
}

impl Heard {
    /// Any audience, as a test writes it to check the events rule on what was written.
    #[cfg(test)]
    pub(super) fn written(subject: Subject, parties: Vec<Audience>) -> Self {
        Self { subject, parties }
    }

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

impl NamesAudience for AttributionRows {
    fn named(row: &entity::attribution::row::Model) -> Vec<i64> {
        row.partner_id.into_iter().collect()
    }
}

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

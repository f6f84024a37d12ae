//! Assessing deals afresh from their accounts' contacts and engagements.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, Utc};
use entity::{contact, engagement, opportunity};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::{can_see, tag, ThreadingWindow};
use crate::auth::{Principal, Resource};
use crate::domain::threading::{self, Assessment, ContactFacts, EngagementFacts};
use crate::error::AppResult;

/// An account's contacts and engagements, whoever holds them.
pub(super) struct AccountData {
    pub(super) contacts: Vec<contact::Model>,
    pub(super) engagements: Vec<engagement::Model>,
}

/// The contacts and engagements of `accounts` (two statements, whatever the count).
pub(super) async fn account_data<C: ConnectionTrait>(
    conn: &C,
    accounts: &[i64],
) -> AppResult<HashMap<i64, AccountData>> {
    let contacts = contact::Entity::find()
        .filter(contact::Column::AccountId.is_in(accounts.to_vec()))
        .all(conn)
        .await?;
    let engagements = engagement::Entity::find()
        .filter(engagement::Column::AccountId.is_in(accounts.to_vec()))
        .all(conn)
        .await?;
    let mut out: HashMap<i64, AccountData> = accounts
        .iter()
        .map(|a| {
            (
                *a,
                AccountData {
                    contacts: vec![],
                    engagements: vec![],
                },
            )
        })
        .collect();
    for c in contacts {
        if let Some(d) = out.get_mut(&c.account_id) {
            d.contacts.push(c);
        }
    }
    for e in engagements {
        if let Some(d) = out.get_mut(&e.account_id) {
            d.engagements.push(e);
        }
    }
    Ok(out)
}

/// The facts of one deal: the account's people (each counted once) as the caller may see them,
/// and the engagements of the account and of this deal.
pub(super) fn facts(
    principal: &Principal,
    data: &AccountData,
    opportunity_id: i64,
) -> (Vec<ContactFacts>, Vec<EngagementFacts>) {
    // The score counts people, not records: the vendor and each partner keep their own record
    // of a person (one email at the account), and those count once, whoever reads the score,
    // as the oldest record, with the engagements of them all. Evidence names that record only
    // if the caller may see it, so nothing of a record it cannot see reaches it.
    let mut first_of: HashMap<&str, &contact::Model> = HashMap::new();
    for c in &data.contacts {
        let kept = first_of.entry(c.email_key.as_str()).or_insert(c);
        if c.id < kept.id {
            *kept = c;
        }
    }
    let canonical: HashMap<i64, i64> = data
        .contacts
        .iter()
        .map(|c| (c.id, first_of[c.email_key.as_str()].id))
        .collect();
    let contacts: Vec<ContactFacts> = data
        .contacts
        .iter()
        .filter(|c| canonical[&c.id] == c.id)
        .map(|c| ContactFacts {
            id: c.id,
            name: c.name.clone(),
            department: c.department.clone(),
            buying_role: c.buying_role,
            status: c.status,
            visible: can_see(principal, c),
        })
        .collect();
    let touches: Vec<EngagementFacts> = data
        .engagements
        .iter()
        .filter(|e| e.opportunity_id.is_none_or(|o| o == opportunity_id))
        .map(|e| EngagementFacts {
            contact_id: canonical
                .get(&e.contact_id)
                .copied()
                .unwrap_or(e.contact_id),
            party: tag(e.partner_id),
            on: e.occurred_on,
            sentiment: e.sentiment,
        })
        .collect();
    (contacts, touches)
}

/// One deal's assessment on `today`, as `principal` may read it, and the first day it may
/// no longer hold.
pub(super) fn assess_one(
    principal: &Principal,
    data: &AccountData,
    opportunity_id: i64,
    window: ThreadingWindow,
    today: NaiveDate,
) -> (Assessment, Option<NaiveDate>) {
    let (contacts, touches) = facts(principal, data, opportunity_id);
    (
        threading::assess(&contacts, &touches, today, window.0),
        threading::valid_until(&touches, today, window.0),
    )
}

/// The visible opportunities among `ids` with their accounts' data, read on `conn`.
pub(super) async fn visible_with_data<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<(Vec<opportunity::Model>, HashMap<i64, AccountData>)> {
    if ids.is_empty() {
        return Ok((vec![], HashMap::new()));
    }
    let opps = crate::db::opportunities::visible(principal)
        .filter(opportunity::Column::Id.is_in(ids.to_vec()))
        .all(conn)
        .await?;
    let accounts: Vec<i64> = opps
        .iter()
        .map(|o| o.account_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let data = account_data(conn, &accounts).await?;
    Ok((opps, data))
}

/// Assessments of the visible opportunities among `ids`, computed afresh for today, as
/// `principal` may read them (four statements, whatever the count): what a kept assessment
/// leaves out, the evidence and the departments, comes from here.
pub async fn assess_opportunities(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
    window: ThreadingWindow,
) -> AppResult<HashMap<i64, Assessment>> {
    // The assessment describes the contact network: apps need the contacts scope.
    if !principal.may_read(Resource::Contacts) {
        return Ok(HashMap::new());
    }
    let (opps, data) = visible_with_data(db, principal, ids).await?;
    let today = Utc::now().date_naive();
    Ok(opps
        .iter()
        .filter_map(|o| {
            data.get(&o.account_id)
                .map(|d| (o.id, assess_one(principal, d, o.id, window, today).0))
        })
        .collect())
}

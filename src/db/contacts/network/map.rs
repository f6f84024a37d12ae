//! An account's relationship map: the contacts the caller may see, their influence over the
//! whole network, and who engaged whom.

use std::collections::{BTreeMap, HashSet};

use chrono::{Duration, Utc};
use entity::enums::ContactLinkKind;
use entity::{contact, contact_link, engagement};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::assess::{account_data, AccountData};
use super::{can_see, seen, tag, SeenParty, ThreadingWindow};
use crate::auth::{Principal, Resource};
use crate::domain::threading;
use crate::error::AppResult;

/// A contact on the relationship map.
#[derive(Debug, Clone)]
pub struct MapNode {
    pub contact: contact::Model,
    /// PageRank share of influence over the account's whole network, 0 to 1.
    pub influence: f64,
    /// Parties that engaged the contact in the window (as the caller may see them).
    pub known_by: Vec<SeenParty>,
}

/// An account's network as the caller may see it.
#[derive(Debug, Clone)]
pub struct RelationshipMap {
    pub account_id: i64,
    pub nodes: Vec<MapNode>,
    pub links: Vec<contact_link::Model>,
    /// Contacts nobody may see (counted, never shown).
    pub hidden_contacts: usize,
    /// The most influential visible active contacts that nobody engaged in the window.
    pub unengaged_influencers: Vec<MapNode>,
}

/// The parties that engaged each contact in the window, as the caller may see them.
fn known_by(
    principal: &Principal,
    engagements: &[engagement::Model],
    window: ThreadingWindow,
) -> BTreeMap<i64, Vec<SeenParty>> {
    let since = Utc::now().date_naive() - Duration::days(window.0);
    let mut known: BTreeMap<i64, Vec<SeenParty>> = BTreeMap::new();
    for e in engagements.iter().filter(|e| e.occurred_on >= since) {
        let v = known.entry(e.contact_id).or_default();
        let s = seen(principal, tag(e.partner_id));
        if !v.contains(&s) {
            v.push(s);
        }
    }
    known
}

/// The relationship map of an account the caller may see (five statements, whatever the size).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn relationship_map(
    db: &DatabaseConnection,
    principal: &Principal,
    account_id: i64,
    window: ThreadingWindow,
) -> AppResult<RelationshipMap> {
    principal.require_read(Resource::Contacts)?;
    let account = crate::db::accounts::get(db, principal, account_id).await?;
    let data = account_data(db, &[account.id])
        .await?
        .remove(&account.id)
        .unwrap_or(AccountData {
            contacts: vec![],
            engagements: vec![],
        });
    let links = contact_link::Entity::find()
        .filter(contact_link::Column::AccountId.eq(account.id))
        .all(db)
        .await?;
    let all: Vec<i64> = data.contacts.iter().map(|c| c.id).collect();
    let edges: Vec<(i64, i64, ContactLinkKind)> = links
        .iter()
        .map(|l| (l.from_contact_id, l.to_contact_id, l.kind))
        .collect();
    let rank = threading::influence(&all, &edges);
    let known = known_by(principal, &data.engagements, window);
    let visible: HashSet<i64> = data
        .contacts
        .iter()
        .filter(|c| can_see(principal, c))
        .map(|c| c.id)
        .collect();
    let mut nodes: Vec<MapNode> = data
        .contacts
        .iter()
        .filter(|c| visible.contains(&c.id))
        .map(|c| MapNode {
            contact: c.clone(),
            influence: rank.get(&c.id).copied().unwrap_or(0.0),
            known_by: known
                .get(&c.id)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        })
        .collect();
    nodes.sort_by(|a, b| {
        b.influence
            .total_cmp(&a.influence)
            .then(a.contact.id.cmp(&b.contact.id))
    });
    let unengaged_influencers = nodes
        .iter()
        .filter(|n| {
            n.known_by.is_empty() && n.contact.status == entity::enums::ContactStatus::Active
        })
        .take(5)
        .cloned()
        .collect();
    Ok(RelationshipMap {
        account_id: account.id,
        hidden_contacts: data.contacts.len() - nodes.len(),
        links: links
            .into_iter()
            .filter(|l| visible.contains(&l.from_contact_id) && visible.contains(&l.to_contact_id))
            .collect(),
        nodes,
        unengaged_influencers,
    })
}

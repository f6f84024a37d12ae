//! The contact network of deals: threading assessments, the relationship map with influence,
//! the risk report, and the score history that turns a drop into an event.
//!
//! Assessments count every contact and engagement at the account, whoever holds them, but
//! name only what the caller may see, and never expose another party's notes.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Duration, Utc};
use entity::enums::{ContactLinkKind, OpportunityStage};
use entity::{contact, contact_link, engagement, opportunity, threading_score};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, Set,
};

use crate::auth::{Party, Principal, Resource};
use crate::db::events::payload;
use crate::db::events::{self, NewEvent};
use crate::domain::threading::{
    self, Assessment, ContactFacts, EngagementFacts, PartyTag, RiskKind, RISKY_BELOW,
};
use crate::error::AppResult;
use crate::ids::{self, Kind};

/// How many days back engagements count for threading.
#[derive(Debug, Clone, Copy)]
pub struct ThreadingWindow(pub i64);

fn can_see(principal: &Principal, c: &contact::Model) -> bool {
    match principal.party {
        Party::Vendor => principal.may_read(Resource::Contacts),
        // Only called for accounts of deals the partner is on.
        Party::Partner(p) => {
            principal.may_read(Resource::Contacts)
                && (c.sourced_by_partner_id == Some(p) || c.shared)
        }
    }
}

fn tag(partner_id: Option<i64>) -> PartyTag {
    partner_id
        .map(PartyTag::Partner)
        .unwrap_or(PartyTag::Vendor)
}

struct AccountData {
    contacts: Vec<contact::Model>,
    engagements: Vec<engagement::Model>,
}

async fn account_data<C: ConnectionTrait>(
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

fn assess_one(
    principal: &Principal,
    data: &AccountData,
    opportunity_id: i64,
    window: ThreadingWindow,
) -> Assessment {
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
    let facts: Vec<ContactFacts> = data
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
    threading::assess(&facts, &touches, Utc::now().date_naive(), window.0)
}

/// Assessments of the visible opportunities among `ids` (four statements, whatever the count).
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
    let opps = crate::db::opportunities::visible(principal)
        .filter(opportunity::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    let accounts: Vec<i64> = opps
        .iter()
        .map(|o| o.account_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let data = account_data(db, &accounts).await?;
    Ok(opps
        .iter()
        .filter_map(|o| {
            data.get(&o.account_id)
                .map(|d| (o.id, assess_one(principal, d, o.id, window)))
        })
        .collect())
}

/// Re-scores the open opportunities at `account_id` after a change, in its transaction, and
/// writes `threading.risk_raised` for each whose score fell below the risky threshold.
pub(in crate::db) async fn refresh_scores(
    txn: &DatabaseTransaction,
    actor: &Principal,
    account_id: i64,
    window: ThreadingWindow,
) -> AppResult<()> {
    let open = opportunity::Entity::find()
        .filter(opportunity::Column::AccountId.eq(account_id))
        .filter(
            opportunity::Column::Stage
                .is_not_in([OpportunityStage::ClosedWon, OpportunityStage::ClosedLost]),
        )
        .all(txn)
        .await?;
    if open.is_empty() {
        return Ok(());
    }
    let data = account_data(txn, &[account_id]).await?;
    let Some(d) = data.get(&account_id) else {
        return Ok(());
    };
    let vendor = Principal::system("system:threading");
    for o in open {
        let a = assess_one(&vendor, d, o.id, window);
        let previous = threading_score::Entity::find_by_id(o.id).one(txn).await?;
        let row = threading_score::ActiveModel {
            opportunity_id: Set(o.id),
            score: Set(a.score as i32),
            updated_at: Set(Utc::now()),
        };
        match &previous {
            Some(_) => {
                row.update(txn).await?;
            }
            None => {
                row.insert(txn).await?;
            }
        }
        if previous.is_some_and(|p| p.score as u32 >= RISKY_BELOW) && a.score < RISKY_BELOW {
            let audience =
                crate::auth::scope::heard::<crate::auth::scope::Opportunities, _>(txn, &o).await?;
            let risks = a.risks.iter().map(|r| r.kind.api_name().into()).collect();
            events::append(
                txn,
                actor,
                NewEvent::new(
                    events::Topic::ThreadingRiskRaised,
                    audience,
                    ids::encode(Kind::Opportunity, o.id),
                    &payload::ThreadingRiskRaised {
                        score: a.score,
                        risks,
                    },
                ),
            )
            .await?;
        }
    }
    Ok(())
}

/// How a party appears to the caller: partners see other partners only as "another partner".
#[derive(Copy, Clone, Eq, PartialEq, Debug, Ord, PartialOrd)]
pub enum PartyView {
    /// The vendor.
    Vendor,
    /// Your own partner organisation.
    You,
    /// A partner (the vendor sees which through `partnerId`).
    Partner,
    /// Another partner than you (partners never learn which).
    AnotherPartner,
}

/// A party as the caller may see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeenParty {
    pub view: PartyView,
    /// Only for the vendor, or for yourself.
    pub partner_id: Option<i64>,
}

/// How `principal` sees party `party` on a relationship map (map readers): the vendor as the
/// vendor, a partner by id to the vendor, itself as YOU, any other partner as ANOTHER_PARTNER with
/// no id.
pub fn seen(principal: &Principal, party: PartyTag) -> SeenParty {
    match (principal.party, party) {
        (_, PartyTag::Vendor) => SeenParty {
            view: PartyView::Vendor,
            partner_id: None,
        },
        (Party::Vendor, PartyTag::Partner(p)) => SeenParty {
            view: PartyView::Partner,
            partner_id: Some(p),
        },
        (Party::Partner(me), PartyTag::Partner(p)) if me == p => SeenParty {
            view: PartyView::You,
            partner_id: Some(p),
        },
        (Party::Partner(_), PartyTag::Partner(_)) => SeenParty {
            view: PartyView::AnotherPartner,
            partner_id: None,
        },
    }
}

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

/// One line of the risk report.
#[derive(Debug, Clone)]
pub struct RiskLine {
    pub opportunity: opportunity::Model,
    pub assessment: Assessment,
}

/// Open opportunities the caller may see whose threading score is under the risky threshold
/// (or that carry `risk`), largest amount first.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn risk_report(
    db: &DatabaseConnection,
    principal: &Principal,
    risk: Option<RiskKind>,
    partner_id: Option<i64>,
    stages: Option<Vec<OpportunityStage>>,
    limit: u64,
    window: ThreadingWindow,
) -> AppResult<Vec<RiskLine>> {
    principal.require_read(Resource::Opportunities)?;
    // Each line is a threading assessment, which describes the contact network.
    principal.require_read(Resource::Contacts)?;
    let mut q = crate::db::opportunities::visible(principal).filter(
        opportunity::Column::Stage
            .is_not_in([OpportunityStage::ClosedWon, OpportunityStage::ClosedLost]),
    );
    if let Some(s) = stages {
        q = q.filter(opportunity::Column::Stage.is_in(s));
    }
    if let Some(p) = partner_id {
        // Which deals another partner is on is the vendor's to know.
        if !principal.is_vendor_party() || !principal.may_read(Resource::Registrations) {
            return Err(crate::error::AppError::Forbidden(
                "only the vendor filters the risk report by partner".into(),
            ));
        }
        q = q.filter(
            opportunity::Column::Id.in_subquery(crate::db::registrations::deals_of_partner(p)),
        );
    }
    let opps = q.all(db).await?;
    let accounts: Vec<i64> = opps
        .iter()
        .map(|o| o.account_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let data = account_data(db, &accounts).await?;
    let mut lines: Vec<RiskLine> = opps
        .into_iter()
        .filter_map(|o| {
            let a = assess_one(principal, data.get(&o.account_id)?, o.id, window);
            let keep = match risk {
                Some(k) => a.risks.iter().any(|r| r.kind == k),
                None => a.score < RISKY_BELOW,
            };
            keep.then(|| RiskLine {
                opportunity: crate::db::opportunities::redact(principal, o),
                assessment: a,
            })
        })
        .collect();
    lines.sort_by(|a, b| {
        b.opportunity
            .amount_minor
            .cmp(&a.opportunity.amount_minor)
            .then(a.opportunity.id.cmp(&b.opportunity.id))
    });
    lines.truncate(limit as usize);
    Ok(lines)
}

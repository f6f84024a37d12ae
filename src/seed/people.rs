//! One account's buying committee as the seed draws it: its contacts across departments and
//! levels, the links between them, and the engagements of the parties on its deals.
//!
//! The draw keeps the rules the API keeps: a partner sources contacts only at accounts of
//! deals it is on, engages only contacts it can see (its own or shared ones) and only on deals
//! it is on; an engagement is never in the future; a successor is another contact at the
//! account that the contact's source can see; REPORTS_TO points from a contact to a more
//! senior one listed before it, so the org chart is a forest, never a cycle.

use std::collections::HashSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::enums::{
    BuyingRole, ContactLinkKind, ContactStatus, EngagementKind, Seniority, Sentiment,
};

use super::names::{self, DEPARTMENTS, NOTES};
use super::Rng;
use crate::error::AppResult;

/// A seeded contact, before it becomes a row.
pub(super) struct Person {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub email_key: String,
    pub title: String,
    pub department: &'static str,
    pub seniority: Seniority,
    pub role: Option<BuyingRole>,
    pub status: ContactStatus,
    pub successor: Option<i64>,
    /// The partner that sourced it; `None` for the vendor.
    pub source: Option<i64>,
    pub shared: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Person {
    /// Whether `party` (a partner, or the vendor for `None`) can see this contact.
    fn seen_by(&self, party: Option<i64>) -> bool {
        party.is_none() || self.source == party || self.shared
    }
}

/// A seeded link between two contacts.
pub(super) struct Link {
    pub from: i64,
    pub to: i64,
    pub kind: ContactLinkKind,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// A seeded engagement.
pub(super) struct Touch {
    pub account: u64,
    pub contact: i64,
    /// The partner that engaged; `None` for the vendor.
    pub partner: Option<i64>,
    pub opportunity: Option<i64>,
    pub kind: EngagementKind,
    pub on: NaiveDate,
    pub sentiment: Sentiment,
    pub note: Option<&'static str>,
    pub by: String,
}

/// What an account's draw needs to know of its deals.
pub(super) struct Account<'a> {
    pub id: u64,
    /// Its deals: (opportunity id, the partners that see it).
    pub deals: Vec<(i64, &'a [u32])>,
    /// Every partner on any of its deals, once, in order.
    pub partners: Vec<i64>,
    /// When its first contact was created.
    pub since: DateTime<Utc>,
}

/// The subject of a partner's rep or the vendor's seller at `account`, as `created_by` holds it.
pub(super) fn subject(account: u64, party: Option<i64>) -> String {
    match party {
        Some(p) => format!("rep{}@partner{p}.example", account % 5),
        None => format!("seller{}@vendor.example", account % 50),
    }
}

/// How senior the `k`-th contact of an account is: one chief, two VPs, three directors, four
/// managers, then individual contributors.
fn seniority(k: usize) -> Seniority {
    match k {
        0 => Seniority::CLevel,
        1..=2 => Seniority::Vp,
        3..=5 => Seniority::Director,
        6..=9 => Seniority::Manager,
        _ => Seniority::IndividualContributor,
    }
}

/// A buying role that fits someone's level and department (or none), drawn from `r` in 0..100.
fn buying_role(seniority: Seniority, department: &str, r: u64) -> Option<BuyingRole> {
    use BuyingRole::*;
    match (seniority, department) {
        (Seniority::Vp | Seniority::Director, "Finance") if r < 60 => Some(EconomicBuyer),
        (Seniority::Director | Seniority::Manager, "Procurement") if r < 60 => Some(Procurement),
        (Seniority::Director | Seniority::Manager, "Legal") if r < 60 => Some(Legal),
        (Seniority::CLevel, _) => [
            (45, ExecutiveSponsor),
            (75, EconomicBuyer),
            (95, DecisionMaker),
        ]
        .iter()
        .find(|(below, _)| r < *below)
        .map(|(_, role)| *role),
        (Seniority::Vp, _) => [
            (20, ExecutiveSponsor),
            (40, DecisionMaker),
            (60, Champion),
            (75, EconomicBuyer),
            (85, Influencer),
        ]
        .iter()
        .find(|(below, _)| r < *below)
        .map(|(_, role)| *role),
        (Seniority::Director, _) => [
            (25, Champion),
            (45, TechnicalEvaluator),
            (60, DecisionMaker),
            (70, Influencer),
            (75, Blocker),
        ]
        .iter()
        .find(|(below, _)| r < *below)
        .map(|(_, role)| *role),
        (Seniority::Manager, _) => [
            (20, Champion),
            (45, TechnicalEvaluator),
            (60, Influencer),
            (65, Blocker),
        ]
        .iter()
        .find(|(below, _)| r < *below)
        .map(|(_, role)| *role),
        (Seniority::IndividualContributor, _) => [(45, EndUser), (65, TechnicalEvaluator)]
            .iter()
            .find(|(below, _)| r < *below)
            .map(|(_, role)| *role),
    }
}

/// Mostly active; some left, moved or stopped answering.
fn status(r: u64) -> ContactStatus {
    match r {
        0..=83 => ContactStatus::Active,
        84..=89 => ContactStatus::LeftCompany,
        90..=94 => ContactStatus::RoleChanged,
        _ => ContactStatus::Unresponsive,
    }
}

/// The account's contacts, 8 to 22 of them (15 on average), ids from `first_id`.
pub(super) fn people(
    a: &Account,
    first_id: i64,
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> AppResult<Vec<Person>> {
    let n = 8 + rng.below(15) as usize;
    let mut out = Vec::with_capacity(n);
    for k in 0..n {
        let seniority = seniority(k);
        let department = match k {
            0 => DEPARTMENTS[0],
            _ => DEPARTMENTS[1 + rng.below(DEPARTMENTS.len() as u64 - 1) as usize],
        };
        let (first, last) = names::person(rng.next(), rng.next());
        let address = format!(
            "{first}.{}{k}@account{}.example.com",
            last.replace(' ', ""),
            a.id
        );
        let (email, email_key) = crate::db::contacts::email_key(&address)?;
        let status = status(rng.below(100));
        let source = match (a.partners.is_empty(), rng.below(10)) {
            (false, 6..) => Some(a.partners[rng.below(a.partners.len() as u64) as usize]),
            _ => None,
        };
        let shared = rng.below(10) < if source.is_none() { 5 } else { 3 };
        // Marked as left or moved, or its details corrected: each a versioned change.
        let version = 1 + i32::from(status != ContactStatus::Active) + i32::from(rng.below(5) == 0);
        let created_at = a.since + Duration::minutes(k as i64);
        out.push(Person {
            id: first_id + k as i64,
            name: format!("{first} {last}"),
            email,
            email_key,
            title: names::title(seniority, department),
            department,
            seniority,
            role: buying_role(seniority, department, rng.below(100)),
            status,
            successor: None,
            source,
            shared,
            version,
            created_at,
            updated_at: match version {
                1 => created_at,
                _ => now - Duration::minutes(rng.below(180 * 24 * 60) as i64),
            },
        });
    }
    name_successors(&mut out, rng);
    Ok(out)
}

/// Half the contacts that left or moved name a successor: an active contact at the account
/// that the party that sourced them can see.
fn name_successors(people: &mut [Person], rng: &mut Rng) {
    for k in 0..people.len() {
        let gone = matches!(
            people[k].status,
            ContactStatus::LeftCompany | ContactStatus::RoleChanged
        );
        if !gone || rng.below(2) == 0 {
            continue;
        }
        let source = people[k].source;
        let candidates: Vec<i64> = people
            .iter()
            .enumerate()
            .filter(|(j, p)| *j != k && p.status == ContactStatus::Active && p.seen_by(source))
            .map(|(_, p)| p.id)
            .collect();
        if !candidates.is_empty() {
            people[k].successor = Some(candidates[rng.below(candidates.len() as u64) as usize]);
        }
    }
}

/// About seven links: a third of the contacts report to someone more senior listed before
/// them; up to two INFLUENCES and two WORKS_WITH between random pairs (WORKS_WITH stored lower
/// id first, as the API stores it). A link is made by the partner that sourced both ends, or
/// else by the vendor, a day after the later contact was added.
pub(super) fn links(account: u64, people: &[Person], rng: &mut Rng) -> Vec<Link> {
    let mut edges: Vec<(usize, usize, ContactLinkKind)> = Vec::new();
    for k in 1..people.len() {
        let managers: Vec<usize> = (0..k)
            .filter(|j| people[*j].seniority < people[k].seniority)
            .collect();
        if !managers.is_empty() && rng.below(100) < 35 {
            let j = managers[rng.below(managers.len() as u64) as usize];
            edges.push((k, j, ContactLinkKind::ReportsTo));
        }
    }
    let n = people.len() as u64;
    for kind in [ContactLinkKind::Influences, ContactLinkKind::WorksWith] {
        for _ in 0..rng.below(3) {
            let (a, b) = (rng.below(n) as usize, rng.below(n) as usize);
            let (a, b) = match kind {
                ContactLinkKind::WorksWith => (a.min(b), a.max(b)),
                _ => (a, b),
            };
            if a != b && !edges.contains(&(a, b, kind)) {
                edges.push((a, b, kind));
            }
        }
    }
    edges
        .into_iter()
        .map(|(a, b, kind)| {
            let (from, to) = (&people[a], &people[b]);
            let party = from.source.filter(|_| from.source == to.source);
            Link {
                from: from.id,
                to: to.id,
                kind,
                by: subject(account, party),
                at: from.created_at.max(to.created_at) + Duration::days(1),
            }
        })
        .collect()
}

fn engagement_kind(r: u64) -> EngagementKind {
    match r {
        0..=5 => EngagementKind::Email,
        6..=10 => EngagementKind::Call,
        11..=14 => EngagementKind::Meeting,
        15..=16 => EngagementKind::Demo,
        17 => EngagementKind::Workshop,
        _ => EngagementKind::Event,
    }
}

fn sentiment(r: u64) -> Sentiment {
    match r {
        0..=8 => Sentiment::Positive,
        9..=16 => Sentiment::Neutral,
        _ => Sentiment::Negative,
    }
}

/// Up to ten engagements (five on average) over the last 180 days, half by the vendor and half
/// by partners on the account's deals, each with a contact the party can see and, six times in
/// ten, on one of the account's deals the party is on.
pub(super) fn touches(
    a: &Account,
    people: &[Person],
    today: NaiveDate,
    rng: &mut Rng,
) -> Vec<Touch> {
    let mut out = Vec::new();
    for _ in 0..rng.below(11) {
        let mut party = None;
        if !a.partners.is_empty() && rng.below(2) == 0 {
            party = Some(a.partners[rng.below(a.partners.len() as u64) as usize]);
        }
        let mut seen: Vec<&Person> = people.iter().filter(|p| p.seen_by(party)).collect();
        if seen.is_empty() {
            party = None;
            seen = people.iter().collect();
        }
        let contact = seen[rng.below(seen.len() as u64) as usize].id;
        let on_deals: Vec<i64> = a
            .deals
            .iter()
            .filter(|(_, partners)| party.is_none_or(|p| partners.contains(&(p as u32))))
            .map(|(id, _)| *id)
            .collect();
        let opportunity = match (on_deals.is_empty(), rng.below(10)) {
            (false, 0..=5) => Some(on_deals[rng.below(on_deals.len() as u64) as usize]),
            _ => None,
        };
        out.push(Touch {
            account: a.id,
            contact,
            partner: party,
            opportunity,
            kind: engagement_kind(rng.below(20)),
            on: today - Duration::days(rng.below(180) as i64),
            sentiment: sentiment(rng.below(20)),
            note: (rng.below(3) == 0).then(|| NOTES[rng.below(NOTES.len() as u64) as usize]),
            by: subject(a.id, party),
        });
    }
    out
}

/// The partners on any of `deals`, once each, in order.
pub(super) fn partners_of(deals: &[(i64, &[u32])]) -> Vec<i64> {
    let mut seen = HashSet::new();
    let mut out: Vec<i64> = deals
        .iter()
        .flat_map(|(_, ps)| ps.iter())
        .filter(|p| seen.insert(**p))
        .map(|p| *p as i64)
        .collect();
    out.sort_unstable();
    out
}

//! Multi-threading: how well a deal's contact network is covered, scored 0 to 100 with named
//! risks, and influence over the network (PageRank).
//!
//! ## The score
//!
//! Computed from the account's contacts and the engagements of the last `window_days`:
//!
//! | part | points |
//! |---|---|
//! | breadth: active contacts engaged in the window, 7 points each, up to 5 | 35 |
//! | departments those contacts cover, 7 points each, up to 3 (rounded to 20) | 20 |
//! | key buying roles engaged: economic buyer 10, executive sponsor 5, champion 5, decision maker or technical evaluator 5 | 25 |
//! | parties holding relationships: one party 5, two or more 10 | 10 |
//! | recency of the last engagement: within 14 days 10, within 30 days 5 | 10 |
//!
//! A deal scoring under [`RISKY_BELOW`] is at risk.

mod summary;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::NaiveDate;
use entity::enums::{BuyingRole, ContactLinkKind, ContactStatus, Sentiment};

pub use summary::{risk_bits, risk_kinds, valid_until, Summary, RISK_KINDS};

/// Scores below this mark a deal as at risk.
pub const RISKY_BELOW: u32 = 50;

/// What the assessment needs to know of a contact.
#[derive(Debug, Clone)]
pub struct ContactFacts {
    pub id: i64,
    pub name: String,
    pub department: Option<String>,
    pub buying_role: Option<BuyingRole>,
    pub status: ContactStatus,
    /// Whether the caller may see this contact (only visible contacts are named in evidence).
    pub visible: bool,
}

/// Who engaged: the vendor or one partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartyTag {
    Vendor,
    Partner(i64),
}

#[derive(Debug, Clone)]
pub struct EngagementFacts {
    pub contact_id: i64,
    pub party: PartyTag,
    pub on: NaiveDate,
    pub sentiment: Sentiment,
}

/// A named risk with its evidence and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Risk {
    pub kind: RiskKind,
    pub evidence: String,
    pub recommendation: String,
}

/// A named way a deal can be badly multi-threaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskKind {
    /// One or no active contact engaged in the window.
    SingleThreaded,
    /// The champion left the company or changed role.
    ChampionLeft,
    /// No economic buyer engaged.
    NoEconomicBuyer,
    /// No executive sponsor engaged.
    NoExecutiveSponsor,
    /// No engagement in the last 30 days.
    StaleEngagement,
    /// Every relationship is held by one party.
    SinglePartyCoverage,
    /// Every engaged contact sits in one department.
    SingleDepartment,
    /// Most recent engagements were negative.
    NegativeSentiment,
}

impl RiskKind {
    /// The name the API gives the risk (`ThreadingRiskKind` in the schema), as event payloads
    /// carry it.
    pub fn api_name(self) -> &'static str {
        match self {
            RiskKind::SingleThreaded => "SINGLE_THREADED",
            RiskKind::ChampionLeft => "CHAMPION_LEFT",
            RiskKind::NoEconomicBuyer => "NO_ECONOMIC_BUYER",
            RiskKind::NoExecutiveSponsor => "NO_EXECUTIVE_SPONSOR",
            RiskKind::StaleEngagement => "STALE_ENGAGEMENT",
            RiskKind::SinglePartyCoverage => "SINGLE_PARTY_COVERAGE",
            RiskKind::SingleDepartment => "SINGLE_DEPARTMENT",
            RiskKind::NegativeSentiment => "NEGATIVE_SENTIMENT",
        }
    }
}

/// The assessment of one deal.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub score: u32,
    pub engaged_contacts: usize,
    pub departments: Vec<String>,
    pub buying_roles: Vec<BuyingRole>,
    pub parties: Vec<PartyTag>,
    pub days_since_last_engagement: Option<i64>,
    pub risks: Vec<Risk>,
}

fn named(c: &ContactFacts) -> String {
    if c.visible {
        c.name.clone()
    } else {
        "a contact you cannot see".into()
    }
}

/// What a deal's account shows in the window: who was engaged, where, in which roles, by
/// which parties, and how long ago the last engagement was.
struct Coverage<'a> {
    /// The engagements of the window.
    recent: Vec<&'a EngagementFacts>,
    /// The active contacts engaged in the window.
    engaged: BTreeSet<i64>,
    engaged_contacts: Vec<&'a ContactFacts>,
    departments: BTreeSet<String>,
    /// Listed only from contacts the caller may see; the score counts them all.
    visible_departments: BTreeSet<String>,
    roles: BTreeSet<BuyingRole>,
    parties: BTreeSet<PartyTag>,
    days_since: Option<i64>,
}

impl<'a> Coverage<'a> {
    fn of(
        contacts: &'a [ContactFacts],
        engagements: &'a [EngagementFacts],
        today: NaiveDate,
        window_days: i64,
    ) -> Self {
        let by_id: HashMap<i64, &ContactFacts> = contacts.iter().map(|c| (c.id, c)).collect();
        let since = today - chrono::Duration::days(window_days);
        let recent: Vec<&EngagementFacts> = engagements
            .iter()
            .filter(|e| e.on >= since && e.on <= today)
            .collect();
        let engaged: BTreeSet<i64> = recent
            .iter()
            .filter(|e| {
                by_id
                    .get(&e.contact_id)
                    .is_some_and(|c| c.status == ContactStatus::Active)
            })
            .map(|e| e.contact_id)
            .collect();
        let engaged_contacts: Vec<&ContactFacts> = engaged
            .iter()
            .filter_map(|id| by_id.get(id).copied())
            .collect();
        let departments_of = |visible_only: bool| -> BTreeSet<String> {
            engaged_contacts
                .iter()
                .filter(|c| c.visible || !visible_only)
                .filter_map(|c| c.department.clone())
                .collect()
        };
        let last = engagements
            .iter()
            .filter(|e| e.on <= today)
            .map(|e| e.on)
            .max();
        Self {
            departments: departments_of(false),
            visible_departments: departments_of(true),
            roles: engaged_contacts
                .iter()
                .filter_map(|c| c.buying_role)
                .collect(),
            parties: recent
                .iter()
                .filter(|e| engaged.contains(&e.contact_id))
                .map(|e| e.party)
                .collect(),
            days_since: last.map(|d| (today - d).num_days()),
            recent,
            engaged,
            engaged_contacts,
        }
    }

    /// The score, by the table in the module's documentation.
    fn score(&self) -> u32 {
        let breadth = 7 * self.engaged.len().min(5) as u32;
        let dept = (7 * self.departments.len().min(3) as u32).min(20);
        let has = |r: BuyingRole| self.roles.contains(&r);
        let role_points = [
            (has(BuyingRole::EconomicBuyer), 10),
            (has(BuyingRole::ExecutiveSponsor), 5),
            (has(BuyingRole::Champion), 5),
            (
                has(BuyingRole::DecisionMaker) || has(BuyingRole::TechnicalEvaluator),
                5,
            ),
        ]
        .iter()
        .filter(|(held, _)| *held)
        .map(|(_, points)| points)
        .sum::<u32>();
        let party_points = match self.parties.len() {
            0 => 0,
            1 => 5,
            _ => 10,
        };
        let recency = match self.days_since {
            Some(d) if d <= 14 => 10,
            Some(d) if d <= 30 => 5,
            _ => 0,
        };
        breadth + dept + role_points + party_points + recency
    }
}

/// Assesses a deal's threading from its account's contacts and engagements.
pub fn assess(
    contacts: &[ContactFacts],
    engagements: &[EngagementFacts],
    today: NaiveDate,
    window_days: i64,
) -> Assessment {
    let cov = Coverage::of(contacts, engagements, today, window_days);
    let mut risks = Vec::new();
    risks.extend(single_threaded(&cov, window_days));
    risks.extend(champion_left(contacts));
    risks.extend(coverage_risks(&cov));
    risks.extend(negative_sentiment(&cov));
    Assessment {
        score: cov.score(),
        engaged_contacts: cov.engaged.len(),
        departments: cov.visible_departments.into_iter().collect(),
        buying_roles: cov.roles.into_iter().collect(),
        parties: cov.parties.into_iter().collect(),
        days_since_last_engagement: cov.days_since,
        risks,
    }
}

/// SINGLE_THREADED: at most one active contact engaged in the window.
fn single_threaded(cov: &Coverage, window_days: i64) -> Option<Risk> {
    if cov.engaged.len() > 1 {
        return None;
    }
    let (evidence, recommendation) = match cov.engaged_contacts.first() {
        Some(c) => (
            format!(
                "only {} was engaged in the last {window_days} days",
                named(c)
            ),
            format!(
                "ask {} for introductions to their manager and to finance",
                named(c)
            ),
        ),
        None => (
            format!("no active contact was engaged in the last {window_days} days"),
            "book meetings with at least three stakeholders in different departments".into(),
        ),
    };
    Some(Risk {
        kind: RiskKind::SingleThreaded,
        evidence,
        recommendation,
    })
}

/// CHAMPION_LEFT: a champion left or changed role, and no other champion is active.
fn champion_left(contacts: &[ContactFacts]) -> Option<Risk> {
    let champions: Vec<&ContactFacts> = contacts
        .iter()
        .filter(|c| c.buying_role == Some(BuyingRole::Champion))
        .collect();
    let gone: Vec<&&ContactFacts> = champions
        .iter()
        .filter(|c| {
            matches!(
                c.status,
                ContactStatus::LeftCompany | ContactStatus::RoleChanged
            )
        })
        .collect();
    if gone.is_empty() || champions.iter().any(|c| c.status == ContactStatus::Active) {
        return None;
    }
    let who = gone.iter().map(|c| named(c)).collect::<Vec<_>>().join(", ");
    Some(Risk {
        kind: RiskKind::ChampionLeft,
        evidence: format!(
            "the champion ({who}) left the company or changed role and no other champion is active"
        ),
        recommendation:
            "find a new champion: ask the successor or the champion's former manager for a meeting"
                .into(),
    })
}

/// The risks of what the window's engagements leave uncovered: no economic buyer, no
/// executive sponsor, stale engagement, one party, one department.
fn coverage_risks(cov: &Coverage) -> Vec<Risk> {
    let mut risks = Vec::new();
    let risk = |kind, evidence: String, recommendation: &str| Risk {
        kind,
        evidence,
        recommendation: recommendation.into(),
    };
    if !cov.roles.contains(&BuyingRole::EconomicBuyer) {
        risks.push(risk(
            RiskKind::NoEconomicBuyer,
            "no economic buyer was engaged in the window".into(),
            "ask the champion for an introduction to finance or the budget owner",
        ));
    }
    if !cov.roles.contains(&BuyingRole::ExecutiveSponsor) {
        risks.push(risk(
            RiskKind::NoExecutiveSponsor,
            "no executive sponsor was engaged in the window".into(),
            "arrange an executive-to-executive meeting",
        ));
    }
    if cov.days_since.is_none_or(|d| d > 30) {
        risks.push(risk(
            RiskKind::StaleEngagement,
            match cov.days_since {
                Some(d) => format!("the last engagement was {d} days ago"),
                None => "nobody has engaged anyone at the account".into(),
            },
            "re-engage this week with a concrete next step",
        ));
    }
    if cov.parties.len() == 1 {
        risks.push(risk(
            RiskKind::SinglePartyCoverage,
            "every relationship is held by one party".into(),
            "have another party on the deal meet the customer's stakeholders too",
        ));
    }
    if cov.engaged.len() >= 2 && cov.departments.len() <= 1 {
        let department = cov.visible_departments.iter().next();
        risks.push(risk(
            RiskKind::SingleDepartment,
            format!(
                "every engaged contact sits in {}",
                department.map(String::as_str).unwrap_or("one department")
            ),
            "reach the departments that sign off: finance, procurement and the business owner",
        ));
    }
    risks
}

/// NEGATIVE_SENTIMENT: most of the window's last five engagements (at least two) were
/// negative.
fn negative_sentiment(cov: &Coverage) -> Option<Risk> {
    let mut latest: Vec<&EngagementFacts> = cov.recent.clone();
    latest.sort_by_key(|e| std::cmp::Reverse(e.on));
    let last_five: Vec<&EngagementFacts> = latest.into_iter().take(5).collect();
    let negative = last_five
        .iter()
        .filter(|e| e.sentiment == Sentiment::Negative)
        .count();
    if last_five.len() < 2 || negative * 2 <= last_five.len() {
        return None;
    }
    Some(Risk {
        kind: RiskKind::NegativeSentiment,
        evidence: format!(
            "{negative} of the last {} engagements were negative",
            last_five.len()
        ),
        recommendation: "find out what worries them and bring in the vendor's specialist".into(),
    })
}

/// PageRank over the contact network (damping 0.85, 60 iterations). Influence flows to the
/// contact someone reports to, to the contact who influences another, and both ways along
/// WORKS_WITH at half weight. Returns each contact's rank; the ranks sum to 1.
pub fn influence(contacts: &[i64], links: &[(i64, i64, ContactLinkKind)]) -> HashMap<i64, f64> {
    let n = contacts.len();
    if n == 0 {
        return HashMap::new();
    }
    let index: HashMap<i64, usize> = contacts.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    // out[u] = (v, weight): u passes rank to v.
    let mut out: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for (from, to, kind) in links {
        let (Some(&a), Some(&b)) = (index.get(from), index.get(to)) else {
            continue;
        };
        match kind {
            ContactLinkKind::ReportsTo => out[a].push((b, 1.0)),
            ContactLinkKind::Influences => out[b].push((a, 1.0)),
            ContactLinkKind::WorksWith => {
                out[a].push((b, 0.5));
                out[b].push((a, 0.5));
            }
        }
    }
    let d = 0.85;
    let mut rank = vec![1.0 / n as f64; n];
    for _ in 0..60 {
        let mut next = vec![(1.0 - d) / n as f64; n];
        let mut dangling = 0.0;
        for u in 0..n {
            let total: f64 = out[u].iter().map(|(_, w)| w).sum();
            if total == 0.0 {
                dangling += rank[u];
                continue;
            }
            for (v, w) in &out[u] {
                next[*v] += d * rank[u] * w / total;
            }
        }
        for r in next.iter_mut() {
            *r += d * dangling / n as f64;
        }
        rank = next;
    }
    contacts
        .iter()
        .enumerate()
        .map(|(i, c)| (*c, rank[i]))
        .collect()
}

/// Whether adding `from REPORTS_TO to` would close a cycle in `reports` (from -> manager).
pub fn reports_to_cycle(reports: &[(i64, i64)], from: i64, to: i64) -> bool {
    let managers: BTreeMap<i64, Vec<i64>> =
        reports.iter().fold(BTreeMap::new(), |mut m, (a, b)| {
            m.entry(*a).or_insert_with(Vec::new).push(*b);
            m
        });
    let mut stack = vec![to];
    let mut seen = HashSet::new();
    while let Some(c) = stack.pop() {
        if c == from {
            return true;
        }
        if seen.insert(c) {
            stack.extend(managers.get(&c).into_iter().flatten().copied());
        }
    }
    false
}

#[cfg(test)]
mod tests;

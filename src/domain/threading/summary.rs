//! What of an assessment can be kept as data: everything that does not depend on who reads it
//! (the score, the kinds of risk, who and what was engaged, the last engagement's day), and the
//! first day on which the same contacts and engagements would assess differently.
//!
//! An assessment depends on the day it is made for only through the window (an engagement
//! counts while it is at most `window_days` old) and the recency of the last engagement (14 and
//! 30 days). So a kept summary made on day `d` is exact on every day from `d` until
//! [`valid_until`], and the sweep makes it again on that day.

use chrono::{Duration, NaiveDate};
use entity::enums::BuyingRole;

use super::{Assessment, EngagementFacts, PartyTag, RiskKind, RISKY_BELOW};

/// Every kind of risk, in the order of its bit in [`risk_bits`].
pub const RISK_KINDS: [RiskKind; 8] = [
    RiskKind::SingleThreaded,
    RiskKind::ChampionLeft,
    RiskKind::NoEconomicBuyer,
    RiskKind::NoExecutiveSponsor,
    RiskKind::StaleEngagement,
    RiskKind::SinglePartyCoverage,
    RiskKind::SingleDepartment,
    RiskKind::NegativeSentiment,
];

impl RiskKind {
    /// The kind's bit in a set of kinds kept as one integer.
    pub fn bit(self) -> i32 {
        let i = RISK_KINDS
            .iter()
            .position(|k| *k == self)
            .expect("RISK_KINDS lists every kind");
        1 << i
    }
}

/// A set of risk kinds as one integer (one bit per kind).
pub fn risk_bits(kinds: &[RiskKind]) -> i32 {
    kinds.iter().fold(0, |bits, k| bits | k.bit())
}

/// The kinds in a set kept by [`risk_bits`], in the assessment's order.
pub fn risk_kinds(bits: i32) -> Vec<RiskKind> {
    RISK_KINDS
        .iter()
        .copied()
        .filter(|k| bits & k.bit() != 0)
        .collect()
}

/// The part of an assessment that is the same for every reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub score: u32,
    pub engaged_contacts: usize,
    pub buying_roles: Vec<BuyingRole>,
    pub parties: Vec<PartyTag>,
    /// The day of the last engagement (up to the day assessed).
    pub last_engaged_on: Option<NaiveDate>,
    /// The kinds of the named risks, in the assessment's order.
    pub risks: Vec<RiskKind>,
}

impl Summary {
    /// Whether the deal is at risk.
    pub fn at_risk(&self) -> bool {
        self.score < RISKY_BELOW
    }

    /// Days from the last engagement to `today`.
    pub fn days_since_last_engagement(&self, today: NaiveDate) -> Option<i64> {
        self.last_engaged_on.map(|d| (today - d).num_days())
    }
}

impl Assessment {
    /// The reader-independent part of this assessment, made on `today`.
    pub fn summary(&self, today: NaiveDate) -> Summary {
        Summary {
            score: self.score,
            engaged_contacts: self.engaged_contacts,
            buying_roles: self.buying_roles.clone(),
            parties: self.parties.clone(),
            last_engaged_on: self
                .days_since_last_engagement
                .map(|d| today - Duration::days(d)),
            risks: self.risks.iter().map(|r| r.kind).collect(),
        }
    }
}

/// The first day after `today` on which [`super::assess`] of the same contacts and
/// engagements could answer differently: when an engagement leaves the window, when a dated
/// engagement comes due, or when the last engagement crosses the 14 and 30 day recency marks.
/// `None` when nothing will ever change by the calendar alone.
pub fn valid_until(
    engagements: &[EngagementFacts],
    today: NaiveDate,
    window_days: i64,
) -> Option<NaiveDate> {
    let last = engagements
        .iter()
        .map(|e| e.on)
        .filter(|d| *d <= today)
        .max();
    let leaving = engagements
        .iter()
        .filter(|e| e.on <= today)
        .map(|e| e.on + Duration::days(window_days + 1));
    let arriving = engagements.iter().map(|e| e.on);
    let recency = last
        .into_iter()
        .flat_map(|d| [d + Duration::days(15), d + Duration::days(31)]);
    leaving
        .chain(arriving)
        .chain(recency)
        .filter(|d| *d > today)
        .min()
}

//! The contact network of deals: threading assessments, the relationship map with influence,
//! the risk report, and the score history that turns a drop into an event.
//!
//! Assessments count every contact and engagement at the account, whoever holds them, but
//! name only what the caller may see, and never expose another party's notes.
//!
//! Each opportunity's assessment, as every reader shares it (score, kinds of risk, coverage),
//! is kept as data ([`kept`]): written in the transaction of every contact or engagement
//! change at the account, made again by the sweep on the day the calendar alone would change
//! it, and computed afresh by any read that finds it not holding for today. What depends on
//! the reader (evidence naming contacts, the departments listed) is computed on read, for the
//! deals whose details are asked for.

mod assess;
pub mod kept;
mod map;
mod report;

use entity::contact;

use crate::auth::{Party, Principal};
use crate::domain::threading::PartyTag;

pub use assess::assess_opportunities;
pub use kept::{assess_due, may_read_assessments, summaries, summaries_of_kept};
pub(in crate::db) use kept::{refresh_scores, track_new};
pub use map::{relationship_map, MapNode, RelationshipMap};
pub use report::{risk_report, RiskLine};

/// How many days back engagements count for threading.
#[derive(Debug, Clone, Copy)]
pub struct ThreadingWindow(pub i64);

/// Whether `principal` may be shown contact `c` of a deal's network: the contacts read rule
/// at an account the caller sees through the deal (networks are read for visible deals only).
fn can_see(principal: &Principal, c: &contact::Model) -> bool {
    use crate::auth::scope::{Contacts, Rule};
    Contacts::admits_at_seen_account(Contacts::view(principal), c)
}

fn tag(partner_id: Option<i64>) -> PartyTag {
    partner_id
        .map(PartyTag::Partner)
        .unwrap_or(PartyTag::Vendor)
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

//! What each event says, as types: writers build these structs, the outbox stores their JSON,
//! and subscription filters read the same structs back, so a renamed field breaks the build,
//! not a filter. The JSON is part of the API (the `payload` of `Event`): fields are camelCase,
//! enums their schema names, ids global IDs.
//!
//! Snapshots name what every party in an event's audience may read: never a registration's
//! private notes, never another partner's claims, never the vendor's internal deal fields.

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::{
    AttributionModel, BuyingRole, ConflictKind, ConflictResolution, ConflictStatus,
    ContactLinkKind, ContactStatus, EngagementKind, InvitationStatus, OpportunityStage,
    PartnerStatus, PartnerTier, RegistrationRole, RegistrationStatus, Sentiment,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ids::{self, Kind};

/// An event's payload type.
pub trait Payload: Serialize + DeserializeOwned {
    /// The JSON stored in the outbox.
    fn to_json(&self) -> Value {
        // Serialising these plain structs cannot fail: no maps with non-string keys.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads a stored payload back; `None` when it has another shape.
    fn read(v: &Value) -> Option<Self> {
        Self::deserialize(v).ok()
    }
}

/// Marks the payload types.
macro_rules! payloads {
    ($($t:ty),+ $(,)?) => { $(impl Payload for $t {})+ };
}

payloads!(
    PartnerChanged,
    AccountChanged,
    OpportunityChanged,
    StageChanged,
    RegistrationDrafted,
    RegistrationTransition,
    ProtectionChange,
    ConflictChanged,
    ContactChanged,
    EngagementRecorded,
    ContactsLinked,
    ThreadingRiskRaised,
    AttributionFrozen,
    CollaborationRuleChanged,
    InvitationChanged,
);

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PartnerSnapshot {
    pub id: String,
    pub name: String,
    pub tier: PartnerTier,
    pub status: PartnerStatus,
    pub specialisations: Value,
    pub version: i32,
}

impl PartnerSnapshot {
    /// The snapshot of partner row `m` an event carries (event writers in the data layer).
    pub fn of(m: &entity::partner::Model) -> Self {
        Self {
            id: ids::encode(Kind::Partner, m.id),
            name: m.name.clone(),
            tier: m.tier,
            status: m.status,
            specialisations: m.specialisations.clone(),
            version: m.version,
        }
    }
}

/// `partner.created`, `partner.updated` (with the partner as it was).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PartnerChanged {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<PartnerSnapshot>,
    pub partner: PartnerSnapshot,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountSnapshot {
    pub id: String,
    pub name: String,
    pub domain: String,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub version: i32,
}

impl AccountSnapshot {
    /// The snapshot of account row `m` an event carries (event writers in the data layer).
    pub fn of(m: &entity::account::Model) -> Self {
        Self {
            id: ids::encode(Kind::Account, m.id),
            name: m.name.clone(),
            domain: m.domain.clone(),
            industry: m.industry.clone(),
            region: m.region.clone(),
            version: m.version,
        }
    }
}

/// `account.created`, `account.updated` (with the account as it was).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AccountChanged {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<AccountSnapshot>,
    pub account: AccountSnapshot,
}

/// A deal as the parties on it may read it: the shared deal state, without the vendor's
/// forecast notes and probability.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OpportunitySnapshot {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub stage: OpportunityStage,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub expected_close_date: NaiveDate,
    pub owner: String,
    pub region: Option<String>,
    pub products: Value,
    pub version: i32,
}

impl OpportunitySnapshot {
    /// The snapshot of opportunity row `m` an event carries (event writers in the data layer).
    pub fn of(m: &entity::opportunity::Model) -> Self {
        // Named field by field: a new column stays out of events until someone decides.
        let entity::opportunity::Model {
            id,
            account_id,
            name,
            stage,
            amount_minor,
            currency,
            expected_close_date,
            owner,
            region,
            products,
            forecast_notes: _,
            probability: _,
            version,
            created_at: _,
            updated_at: _,
            closed_at: _,
        } = m;
        Self {
            id: ids::encode(Kind::Opportunity, *id),
            account_id: ids::encode(Kind::Account, *account_id),
            name: name.clone(),
            stage: *stage,
            amount: *amount_minor,
            currency: currency.clone(),
            expected_close_date: *expected_close_date,
            owner: owner.clone(),
            region: region.clone(),
            products: products.clone(),
            version: *version,
        }
    }
}

/// `opportunity.created`, `opportunity.updated` (with the deal as it was).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OpportunityChanged {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<OpportunitySnapshot>,
    pub opportunity: OpportunitySnapshot,
}

/// `opportunity.stage_changed`. The vendor's event carries the reason; the partners' event
/// leaves the key out (who moved a deal and why are the vendor's).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StageChanged {
    pub from: OpportunityStage,
    pub to: OpportunityStage,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Option<String>>,
    pub reopened: bool,
    pub opportunity: OpportunitySnapshot,
}

/// A claim as the vendor and its partner may read it (never its private notes).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationSnapshot {
    pub id: String,
    pub partner_id: String,
    pub opportunity_id: Option<String>,
    pub account_domain: String,
    pub role: RegistrationRole,
    pub status: RegistrationStatus,
    pub version: i32,
    pub protection_expires_at: Option<DateTime<Utc>>,
}

impl RegistrationSnapshot {
    /// The snapshot of registration row `m` an event carries (event writers in the data layer).
    pub fn of(m: &entity::registration::Model) -> Self {
        Self {
            id: ids::encode(Kind::Registration, m.id),
            partner_id: ids::encode(Kind::Partner, m.partner_id),
            opportunity_id: m.opportunity_id.map(|o| ids::encode(Kind::Opportunity, o)),
            account_domain: m.account_domain.clone(),
            role: m.role,
            status: m.status,
            version: m.version,
            protection_expires_at: m.protection_expires_at,
        }
    }
}

/// `registration.draft`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RegistrationDrafted {
    pub registration: RegistrationSnapshot,
}

/// `registration.<status>`: a move through the lifecycle, with every status it passed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RegistrationTransition {
    pub from: RegistrationStatus,
    pub to: RegistrationStatus,
    pub path: Vec<RegistrationStatus>,
    pub reason: Option<String>,
    pub registration: RegistrationSnapshot,
}

/// `registration.extension_requested`, `registration.protection_extended`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProtectionChange {
    pub change: ProtectionTerms,
    pub registration: RegistrationSnapshot,
}

/// Days asked for or granted, and until when (once granted).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ProtectionTerms {
    pub days: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// A conflict as the held claim's partner may read it: neither the other claim nor the
/// overlapped deal (a direct deal the partner may not see).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConflictSnapshot {
    pub id: String,
    pub kind: ConflictKind,
    pub status: ConflictStatus,
    pub registration_id: String,
    pub resolution: Option<ConflictResolution>,
}

impl ConflictSnapshot {
    /// The snapshot of conflict row `c` an event carries (event writers in the data layer).
    pub fn of(c: &entity::conflict::Model) -> Self {
        Self {
            id: ids::encode(Kind::Conflict, c.id),
            kind: c.kind,
            status: c.status,
            registration_id: ids::encode(Kind::Registration, c.registration_id),
            resolution: c.resolution,
        }
    }
}

/// `conflict.raised`, `conflict.resolved` (with the vendor's reason).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ConflictChanged {
    pub conflict: ConflictSnapshot,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContactSnapshot {
    pub id: String,
    pub account_id: String,
    pub status: ContactStatus,
    pub buying_role: Option<BuyingRole>,
    pub version: i32,
}

/// `contact.created`, `contact.updated`, `contact.shared`, `contact.<status>`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ContactChanged {
    pub contact: ContactSnapshot,
}

impl ContactChanged {
    /// The snapshot of contact row `c` an event carries (event writers in the data layer).
    pub fn of(c: &entity::contact::Model) -> Self {
        Self {
            contact: ContactSnapshot {
                id: ids::encode(Kind::Contact, c.id),
                account_id: ids::encode(Kind::Account, c.account_id),
                status: c.status,
                buying_role: c.buying_role,
                version: c.version,
            },
        }
    }
}

/// `engagement.recorded` (never its notes).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EngagementRecorded {
    pub contact_id: String,
    pub kind: EngagementKind,
    pub occurred_on: NaiveDate,
    pub sentiment: Sentiment,
}

/// `contact.linked`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ContactsLinked {
    pub from: String,
    pub to: String,
    pub kind: ContactLinkKind,
}

/// `threading.risk_raised`: the score and the risks by their schema names.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ThreadingRiskRaised {
    pub score: u32,
    pub risks: Vec<String>,
}

/// `attribution.finalized`, `attribution.corrected`: neither shares nor the correction's
/// reason (which speaks of other parties' shares); each party reads its own line.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AttributionFrozen {
    pub version: i32,
    pub model: AttributionModel,
}

/// `collaboration_rule.updated` (vendor only).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CollaborationRuleChanged {
    pub role: RegistrationRole,
    pub exclusive: bool,
    pub protection_days: i32,
    pub attribution_weight_bps: i32,
    pub auto_approve: bool,
    pub auto_approve_min_tier: Option<PartnerTier>,
    pub auto_approve_max_amount: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partners_stage_events_leave_the_reason_out_and_the_vendor_s_keep_it_even_when_empty() {
        let now = Utc::now();
        let opp = entity::opportunity::Model {
            id: 1,
            account_id: 2,
            name: "Deal".into(),
            stage: OpportunityStage::Solution,
            amount_minor: 100,
            currency: "EUR".into(),
            expected_close_date: now.date_naive(),
            owner: "owner".into(),
            region: None,
            products: serde_json::json!([]),
            forecast_notes: Some("internal".into()),
            probability: Some(40),
            version: 3,
            created_at: now,
            updated_at: now,
            closed_at: None,
        };
        let moved = |reason| StageChanged {
            from: OpportunityStage::Qualification,
            to: OpportunityStage::Solution,
            reason,
            reopened: false,
            opportunity: OpportunitySnapshot::of(&opp),
        };
        let vendor = moved(Some(None)).to_json();
        assert!(vendor.as_object().unwrap().contains_key("reason"));
        assert_eq!(vendor["reason"], Value::Null);
        let partners = moved(None).to_json();
        assert!(!partners.as_object().unwrap().contains_key("reason"));
        assert_eq!(
            StageChanged::read(&partners).unwrap().to,
            OpportunityStage::Solution
        );
        let text = partners.to_string();
        assert!(
            !text.contains("internal") && !text.contains("probability"),
            "{text}"
        );
    }
}

/// An invitation as the vendor and the invited partner may read it: neither the deal's fields
/// nor other invitees.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InvitationSnapshot {
    pub id: String,
    pub partner_id: String,
    pub role: RegistrationRole,
    pub status: InvitationStatus,
    pub expires_at: DateTime<Utc>,
    /// The registration its acceptance created.
    pub registration_id: Option<String>,
    pub version: i32,
}

impl InvitationSnapshot {
    pub fn of(m: &entity::invitation::Model) -> Self {
        Self {
            id: ids::encode(Kind::Invitation, m.id),
            partner_id: ids::encode(Kind::Partner, m.partner_id),
            role: m.role,
            status: m.status,
            expires_at: m.expires_at,
            registration_id: m
                .registration_id
                .map(|r| ids::encode(Kind::Registration, r)),
            version: m.version,
        }
    }
}

/// `invitation.created|accepted|declined|expired|withdrawn`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InvitationChanged {
    pub invitation: InvitationSnapshot,
    /// The partner's reason for declining, or the vendor's for withdrawing.
    pub reason: Option<String>,
}

//! Attribution: how the credit and the incentives of a deal are split between the parties on
//! it (the partners with APPROVED or WON registrations, and the vendor's direct team when the
//! program includes it). Live preview while the deal is open; frozen on CLOSED_WON; changed
//! afterwards only by an ADMIN's audited correction, which keeps the old version.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_graphql::{InputObject, SimpleObject, ID};
use chrono::{DateTime, Utc};
use entity::attribution::{choice, rate, row, settings, version};
use entity::enums::{
    AttributionModel, EngagementKind, OpportunityStage, PartnerTier, RegistrationRole,
    RegistrationStatus,
};
use entity::{collaboration_rule, engagement, opportunity, partner, registration};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::events::{self, NewEvent};
use crate::auth::{Party, Principal, Resource, VendorRole};
use crate::domain::attribution::{allocate, check_shares, incentive, shares_bps};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// One line of a split: a partner (or the direct team, `partner_id: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub partner_id: Option<i64>,
    pub role: Option<RegistrationRole>,
    pub share_bps: u32,
    pub amount_minor: i64,
    pub currency: String,
    pub incentive_rate_bps: u32,
    pub incentive_minor: i64,
}

/// A deal's split as the caller may see it.
#[derive(Debug, Clone)]
pub struct Split {
    pub opportunity_id: i64,
    pub model: AttributionModel,
    /// The frozen version number, once the deal is won.
    pub version: Option<i32>,
    pub finalized_at: Option<DateTime<Utc>>,
    pub lines: Vec<Line>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
struct ManualShare {
    partner_id: Option<i64>,
    bps: u32,
}

struct PartyOnDeal {
    partner_id: i64,
    tier: PartnerTier,
    roles: Vec<RegistrationRole>,
}

/// Engagement weights for the CONTRIBUTION model.
pub fn engagement_weight(kind: EngagementKind) -> u64 {
    match kind {
        EngagementKind::Workshop => 4,
        EngagementKind::Meeting | EngagementKind::Demo => 3,
        EngagementKind::Call => 2,
        EngagementKind::Event | EngagementKind::Email => 1,
    }
}

struct Inputs {
    settings: settings::Model,
    rules: HashMap<RegistrationRole, i32>,
    rates: HashMap<(PartnerTier, RegistrationRole), i32>,
    parties: HashMap<i64, Vec<PartyOnDeal>>,
    choices: HashMap<i64, choice::Model>,
    engagement_weights: HashMap<(i64, Option<i64>), u64>,
}

pub async fn settings_of<C: ConnectionTrait>(conn: &C) -> AppResult<settings::Model> {
    settings::Entity::find_by_id(1)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::Internal("attribution settings missing".into()))
}

async fn inputs<C: ConnectionTrait>(conn: &C, opps: &[i64]) -> AppResult<Inputs> {
    let settings = settings_of(conn).await?;
    let rules = collaboration_rule::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|r| (r.role, r.attribution_weight_bps))
        .collect();
    let rates = rate::Entity::find()
        .all(conn)
        .await?
        .into_iter()
        .map(|r| ((r.tier, r.role), r.rate_bps))
        .collect();
    let regs = registration::Entity::find()
        .filter(registration::Column::OpportunityId.is_in(opps.to_vec()))
        .filter(
            registration::Column::Status
                .is_in([RegistrationStatus::Approved, RegistrationStatus::Won]),
        )
        .order_by_asc(registration::Column::PartnerId)
        .all(conn)
        .await?;
    let partner_ids: Vec<i64> = regs
        .iter()
        .map(|r| r.partner_id)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let tiers: HashMap<i64, PartnerTier> = partner::Entity::find()
        .filter(partner::Column::Id.is_in(partner_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|p| (p.id, p.tier))
        .collect();
    let mut parties: HashMap<i64, Vec<PartyOnDeal>> = HashMap::new();
    for r in regs {
        let Some(o) = r.opportunity_id else { continue };
        let list = parties.entry(o).or_default();
        match list.iter_mut().find(|p| p.partner_id == r.partner_id) {
            Some(p) => p.roles.push(r.role),
            None => list.push(PartyOnDeal {
                partner_id: r.partner_id,
                tier: tiers
                    .get(&r.partner_id)
                    .copied()
                    .unwrap_or(PartnerTier::Registered),
                roles: vec![r.role],
            }),
        }
    }
    let choices = choice::Entity::find()
        .filter(choice::Column::OpportunityId.is_in(opps.to_vec()))
        .all(conn)
        .await?
        .into_iter()
        .map(|c| (c.opportunity_id, c))
        .collect();
    let mut engagement_weights: HashMap<(i64, Option<i64>), u64> = HashMap::new();
    for e in engagement::Entity::find()
        .filter(engagement::Column::OpportunityId.is_in(opps.to_vec()))
        .all(conn)
        .await?
    {
        if let Some(o) = e.opportunity_id {
            *engagement_weights.entry((o, e.partner_id)).or_default() += engagement_weight(e.kind);
        }
    }
    Ok(Inputs {
        settings,
        rules,
        rates,
        parties,
        choices,
        engagement_weights,
    })
}

/// Computes the split of one open deal from the inputs.
fn compute(inp: &Inputs, opp: &opportunity::Model) -> AppResult<(AttributionModel, Vec<Line>)> {
    let choice = inp.choices.get(&opp.id);
    let model = choice
        .and_then(|c| c.model)
        .unwrap_or(inp.settings.default_model);
    let empty = vec![];
    let on_deal = inp.parties.get(&opp.id).unwrap_or(&empty);
    // Parties in a fixed order: the direct team first, then partners by id.
    let mut keys: Vec<(Option<i64>, Option<RegistrationRole>, PartnerTier)> = Vec::new();
    let direct = inp.settings.include_direct_team || model == AttributionModel::Manual;
    if direct {
        keys.push((None, None, PartnerTier::Registered));
    }
    for p in on_deal {
        let main_role = p.roles.iter().copied().max_by_key(|r| {
            (
                inp.rules.get(r).copied().unwrap_or(0),
                std::cmp::Reverse(*r),
            )
        });
        keys.push((Some(p.partner_id), main_role, p.tier));
    }
    let weights: Vec<u64> = match model {
        AttributionModel::Equal => vec![1; keys.len()],
        AttributionModel::RoleWeighted => keys
            .iter()
            .map(|(pid, _, _)| match pid {
                None => inp.settings.direct_team_weight_bps.max(0) as u64,
                Some(pid) => on_deal
                    .iter()
                    .find(|p| p.partner_id == *pid)
                    .map(|p| {
                        p.roles
                            .iter()
                            .map(|r| inp.rules.get(r).copied().unwrap_or(0).max(0) as u64)
                            .sum()
                    })
                    .unwrap_or(0),
            })
            .collect(),
        AttributionModel::Contribution => keys
            .iter()
            .map(|(pid, _, _)| {
                inp.engagement_weights
                    .get(&(opp.id, *pid))
                    .copied()
                    .unwrap_or(0)
            })
            .collect(),
        AttributionModel::Manual => {
            let manual: Vec<ManualShare> = choice
                .and_then(|c| c.manual_shares.clone())
                .and_then(|j| serde_json::from_value(j).ok())
                .unwrap_or_default();
            keys.iter()
                .map(|(pid, _, _)| {
                    manual
                        .iter()
                        .find(|m| m.partner_id == *pid)
                        .map(|m| m.bps as u64)
                        .unwrap_or(0)
                })
                .collect()
        }
    };
    if keys.is_empty() {
        return Ok((model, vec![]));
    }
    let shares = if model == AttributionModel::Manual && weights.iter().sum::<u64>() == 10_000 {
        weights.iter().map(|w| *w as u32).collect()
    } else {
        shares_bps(&weights)
    };
    let amounts = allocate(opp.amount_minor, &shares)?;
    Ok((
        model,
        keys.iter()
            .zip(shares)
            .zip(amounts)
            .map(|(((pid, role, tier), share), amount)| {
                let rate = match (pid, role) {
                    (Some(_), Some(r)) => {
                        inp.rates.get(&(*tier, *r)).copied().unwrap_or(0).max(0) as u32
                    }
                    _ => 0,
                };
                Line {
                    partner_id: *pid,
                    role: *role,
                    share_bps: share,
                    amount_minor: amount,
                    currency: opp.currency.clone(),
                    incentive_rate_bps: rate,
                    incentive_minor: incentive(amount, rate),
                }
            })
            .collect(),
    ))
}

/// Only the vendor sees every line; a partner sees its own line and nothing of the others.
fn visible_lines(principal: &Principal, lines: Vec<Line>) -> Vec<Line> {
    // Shares are claims: an app needs the registrations scope to read them.
    if !principal.may_read(Resource::Registrations) {
        return vec![];
    }
    match principal.party {
        Party::Vendor => lines,
        Party::Partner(p) => lines
            .into_iter()
            .filter(|l| l.partner_id == Some(p))
            .collect(),
    }
}

/// The splits of the visible opportunities among `ids`: frozen for won deals, a live preview
/// otherwise. A fixed number of statements, whatever the count.
pub async fn splits(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Split>> {
    let opps = super::opportunities::visible(principal)
        .filter(opportunity::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    let opp_ids: Vec<i64> = opps.iter().map(|o| o.id).collect();
    let current = version::Entity::find()
        .filter(version::Column::OpportunityId.is_in(opp_ids.clone()))
        .filter(version::Column::Current.eq(true))
        .all(db)
        .await?;
    let frozen_rows = row::Entity::find()
        .filter(row::Column::VersionId.is_in(current.iter().map(|v| v.id).collect::<Vec<_>>()))
        .order_by_asc(row::Column::Id)
        .all(db)
        .await?;
    let inp = inputs(db, &opp_ids).await?;
    let mut out = HashMap::new();
    for o in &opps {
        let split = match current.iter().find(|v| v.opportunity_id == o.id) {
            Some(v) => Split {
                opportunity_id: o.id,
                model: v.model,
                version: Some(v.number),
                finalized_at: Some(v.finalized_at),
                lines: frozen_rows
                    .iter()
                    .filter(|r| r.version_id == v.id)
                    .map(line_of)
                    .collect(),
            },
            None => {
                let (model, lines) = compute(&inp, o)?;
                Split {
                    opportunity_id: o.id,
                    model,
                    version: None,
                    finalized_at: None,
                    lines,
                }
            }
        };
        out.insert(
            o.id,
            Split {
                lines: visible_lines(principal, split.lines.clone()),
                ..split
            },
        );
    }
    Ok(out)
}

fn line_of(r: &row::Model) -> Line {
    Line {
        partner_id: r.partner_id,
        role: r.role,
        share_bps: r.share_bps as u32,
        amount_minor: r.amount_minor,
        currency: r.currency.clone(),
        incentive_rate_bps: r.incentive_rate_bps as u32,
        incentive_minor: r.incentive_minor,
    }
}

async fn freeze(
    txn: &DatabaseTransaction,
    actor: &Principal,
    opp: &opportunity::Model,
    number: i32,
    reason: Option<String>,
) -> AppResult<version::Model> {
    let inp = inputs(txn, &[opp.id]).await?;
    let (model, lines) = compute(&inp, opp)?;
    let now = Utc::now();
    let v = version::ActiveModel {
        opportunity_id: Set(opp.id),
        number: Set(number),
        model: Set(model),
        amount_minor: Set(opp.amount_minor),
        currency: Set(opp.currency.clone()),
        current: Set(true),
        finalized_at: Set(now),
        finalized_by: Set(actor.subject.clone()),
        reason: Set(reason.clone()),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    for l in &lines {
        row::ActiveModel {
            version_id: Set(v.id),
            opportunity_id: Set(opp.id),
            partner_id: Set(l.partner_id),
            role: Set(l.role),
            share_bps: Set(l.share_bps as i32),
            amount_minor: Set(l.amount_minor),
            currency: Set(l.currency.clone()),
            incentive_rate_bps: Set(l.incentive_rate_bps as i32),
            incentive_minor: Set(l.incentive_minor),
            finalized_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    let audience = super::registrations::lifecycle::deal_audience(txn, opp.id).await?;
    events::append(
        txn,
        actor,
        NewEvent {
            topic: if number == 1 {
                "attribution.finalized"
            } else {
                "attribution.corrected"
            },
            audience,
            subject_id: ids::encode(Kind::Opportunity, opp.id),
            // Neither shares nor the correction's reason (which speaks of other parties' shares)
            // are in the event: it goes to every partner on the deal, who read their own line
            // from the API; the vendor reads the reason from the version history.
            payload: json!({ "version": number, "model": model }),
        },
    )
    .await?;
    Ok(v)
}

/// Freezes the split when a deal closes won (in the stage change's transaction). A deal won
/// again after a reopen keeps its first frozen version; corrections change it.
pub async fn finalize_in(
    txn: &DatabaseTransaction,
    actor: &Principal,
    opp: &opportunity::Model,
) -> AppResult<()> {
    let existing = version::Entity::find()
        .filter(version::Column::OpportunityId.eq(opp.id))
        .one(txn)
        .await?;
    if existing.is_none() {
        freeze(txn, actor, opp, 1, None).await?;
    }
    Ok(())
}

/// A share set by the vendor for the MANUAL model.
#[derive(InputObject, Debug, Clone)]
pub struct ManualShareInput {
    /// The partner; omit for the vendor's direct team.
    pub partner_id: Option<ID>,
    /// Its share in basis points (0 to 10000); all shares sum to exactly 10000.
    pub bps: i32,
}

/// The model (and for MANUAL the shares) of one open deal.
#[derive(InputObject, Debug)]
pub struct SetAttributionModelInput {
    /// The opportunity (open; a won deal changes only through correctAttribution).
    pub opportunity_id: ID,
    /// The version of the deal's attribution choice you read (0 when none was set).
    pub expected_version: i32,
    /// The model; null returns to the program default.
    pub model: Option<AttributionModel>,
    /// For MANUAL: every party's share.
    pub manual_shares: Option<Vec<ManualShareInput>>,
}

const DECIDERS: &[VendorRole] = &[VendorRole::Admin, VendorRole::ChannelManager];

async fn check_manual(
    txn: &DatabaseTransaction,
    opp_id: i64,
    shares: &[ManualShareInput],
) -> AppResult<serde_json::Value> {
    let on_deal: HashSet<i64> = registration::Entity::find()
        .filter(registration::Column::OpportunityId.eq(opp_id))
        .filter(
            registration::Column::Status
                .is_in([RegistrationStatus::Approved, RegistrationStatus::Won]),
        )
        .all(txn)
        .await?
        .into_iter()
        .map(|r| r.partner_id)
        .collect();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for s in shares {
        if !(0..=10_000).contains(&s.bps) {
            return Err(AppError::bad_field(
                "manualShares",
                "each share must be 0 to 10000 basis points",
            ));
        }
        let pid = match &s.partner_id {
            Some(p) => {
                let id = ids::decode_as(p, Kind::Partner).map_err(|_| {
                    AppError::bad_field("manualShares", "a share names an unknown party")
                })?;
                if !on_deal.contains(&id) {
                    return Err(AppError::bad_field(
                        "manualShares",
                        "a share names a partner that is not on the deal",
                    ));
                }
                Some(id)
            }
            None => None,
        };
        if !seen.insert(pid) {
            return Err(AppError::bad_field("manualShares", "a party appears twice"));
        }
        out.push(ManualShare {
            partner_id: pid,
            bps: s.bps as u32,
        });
    }
    check_shares(&out.iter().map(|s| s.bps).collect::<Vec<_>>())
        .map_err(|e| AppError::bad_field("manualShares", e.message()))?;
    Ok(serde_json::to_value(out).unwrap_or_default())
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn set_model(
    db: &DatabaseConnection,
    principal: &Principal,
    input: SetAttributionModelInput,
) -> AppResult<choice::Model> {
    principal.require_vendor_write(Resource::Opportunities, DECIDERS)?;
    let opp_id = ids::decode_as(&input.opportunity_id, Kind::Opportunity)?;
    let txn = super::begin_write(db).await?;
    let opp = opportunity::Entity::find_by_id(opp_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Opportunity"))?;
    if opp.stage == OpportunityStage::ClosedWon {
        return Err(AppError::Conflict(
            "the deal is won and its split frozen: an ADMIN changes it with correctAttribution"
                .into(),
        ));
    }
    let manual = match (input.model, &input.manual_shares) {
        (Some(AttributionModel::Manual), Some(s)) => Some(check_manual(&txn, opp_id, s).await?),
        (Some(AttributionModel::Manual), None) => {
            return Err(AppError::bad_field(
                "manualShares",
                "MANUAL needs manualShares",
            ))
        }
        (_, Some(_)) => {
            return Err(AppError::bad_field(
                "manualShares",
                "manualShares go with the MANUAL model",
            ))
        }
        _ => None,
    };
    let existing = choice::Entity::find_by_id(opp_id).one(&txn).await?;
    let current = existing.as_ref().map(|c| c.version).unwrap_or(0);
    super::check_version("AttributionChoice", input.expected_version, current)?;
    let m = choice::ActiveModel {
        opportunity_id: Set(opp_id),
        model: Set(input.model),
        manual_shares: Set(manual),
        version: Set(current + 1),
        updated_at: Set(Utc::now()),
    };
    let saved = match existing {
        Some(_) => {
            let res = choice::Entity::update_many()
                .set(m)
                .filter(choice::Column::OpportunityId.eq(opp_id))
                .filter(choice::Column::Version.eq(current))
                .exec(&txn)
                .await?;
            if res.rows_affected != 1 {
                return Err(AppError::VersionMismatch {
                    kind: "AttributionChoice",
                    expected: current,
                    current: current + 1,
                });
            }
            choice::Entity::find_by_id(opp_id)
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound("Opportunity"))?
        }
        None => m.insert(&txn).await.map_err(|e| {
            AppError::unique_or(e, "the attribution choice changed meanwhile: re-read it")
        })?,
    };
    txn.commit().await?;
    Ok(saved)
}

/// An ADMIN's audited correction of a won deal's frozen split.
#[derive(InputObject, Debug)]
pub struct CorrectAttributionInput {
    /// The won opportunity.
    pub opportunity_id: ID,
    /// The frozen version number you read; refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// The model of the corrected split.
    pub model: AttributionModel,
    /// For MANUAL: every party's share.
    pub manual_shares: Option<Vec<ManualShareInput>>,
    /// Why (required, kept with the new version).
    pub reason: String,
}

#[tracing::instrument(level = "debug", skip_all)]
pub async fn correct(
    db: &DatabaseConnection,
    principal: &Principal,
    input: CorrectAttributionInput,
) -> AppResult<i32> {
    principal.require_vendor_admin("correct a finalized attribution")?;
    let reason = crate::domain::text::required("reason", &input.reason, 2000)?;
    let opp_id = ids::decode_as(&input.opportunity_id, Kind::Opportunity)?;
    let txn = super::begin_write(db).await?;
    let opp = opportunity::Entity::find_by_id(opp_id)
        .one(&txn)
        .await?
        .ok_or(AppError::NotFound("Opportunity"))?;
    let current = version::Entity::find()
        .filter(version::Column::OpportunityId.eq(opp_id))
        .filter(version::Column::Current.eq(true))
        .one(&txn)
        .await?
        .ok_or_else(|| {
            AppError::Conflict(
                "the split is not finalized yet: set the model with setAttributionModel".into(),
            )
        })?;
    super::check_version("Attribution", input.expected_version, current.number)?;
    let manual = match (&input.model, &input.manual_shares) {
        (AttributionModel::Manual, Some(s)) => Some(check_manual(&txn, opp_id, s).await?),
        (AttributionModel::Manual, None) => {
            return Err(AppError::bad_field(
                "manualShares",
                "MANUAL needs manualShares",
            ))
        }
        _ => None,
    };
    let res = version::Entity::update_many()
        .set(version::ActiveModel {
            current: Set(false),
            ..Default::default()
        })
        .filter(version::Column::Id.eq(current.id))
        .filter(version::Column::Current.eq(true))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Err(AppError::VersionMismatch {
            kind: "Attribution",
            expected: input.expected_version,
            current: current.number + 1,
        });
    }
    // The correction's inputs: the chosen model (and shares) become the deal's choice.
    let existing = choice::Entity::find_by_id(opp_id).one(&txn).await?;
    let c = choice::ActiveModel {
        opportunity_id: Set(opp_id),
        model: Set(Some(input.model)),
        manual_shares: Set(manual),
        version: Set(existing.as_ref().map(|c| c.version).unwrap_or(0) + 1),
        updated_at: Set(Utc::now()),
    };
    match existing {
        Some(_) => {
            c.update(&txn).await?;
        }
        None => {
            c.insert(&txn).await?;
        }
    }
    let v = freeze(&txn, principal, &opp, current.number + 1, Some(reason)).await?;
    txn.commit().await?;
    Ok(v.number)
}

/// Every version of a deal's frozen split, newest first (vendor only).
pub async fn versions(
    db: &DatabaseConnection,
    principal: &Principal,
    opp_id: i64,
) -> AppResult<Vec<version::Model>> {
    if !principal.is_vendor_party() {
        return Ok(vec![]);
    }
    Ok(version::Entity::find()
        .filter(version::Column::OpportunityId.eq(opp_id))
        .order_by_desc(version::Column::Number)
        .all(db)
        .await?)
}

/// Sets the incentive rate of a tier and role (vendor ADMIN or CHANNEL_MANAGER).
#[derive(InputObject, Debug)]
pub struct SetIncentiveRateInput {
    /// The partner tier.
    pub tier: PartnerTier,
    /// The role on the deal.
    pub role: RegistrationRole,
    /// The rate in basis points of the attributed amount (0 to 10000).
    pub rate_bps: i32,
}

pub async fn set_rate(
    db: &DatabaseConnection,
    principal: &Principal,
    input: SetIncentiveRateInput,
) -> AppResult<rate::Model> {
    principal.require_vendor_write(Resource::Partners, DECIDERS)?;
    if !(0..=10_000).contains(&input.rate_bps) {
        return Err(AppError::bad_field("rateBps", "rateBps must be 0 to 10000"));
    }
    let txn = super::begin_write(db).await?;
    let existing = rate::Entity::find_by_id((input.tier, input.role))
        .one(&txn)
        .await?;
    let m = rate::ActiveModel {
        tier: Set(input.tier),
        role: Set(input.role),
        rate_bps: Set(input.rate_bps),
        version: Set(existing.as_ref().map(|r| r.version + 1).unwrap_or(1)),
        updated_at: Set(Utc::now()),
    };
    let saved = if existing.is_some() {
        m.update(&txn).await?
    } else {
        m.insert(&txn).await?
    };
    txn.commit().await?;
    Ok(saved)
}

pub async fn rates(db: &DatabaseConnection) -> AppResult<Vec<rate::Model>> {
    Ok(rate::Entity::find()
        .order_by_asc(rate::Column::Tier)
        .order_by_asc(rate::Column::Role)
        .all(db)
        .await?)
}

/// One deal on a partner's statement.
#[derive(Debug, Clone)]
pub struct StatementLine {
    pub opportunity_id: i64,
    pub row: row::Model,
}

/// Totals of a statement in one currency.
#[derive(SimpleObject, Debug, Clone)]
pub struct CurrencyTotal {
    /// ISO 4217 currency.
    pub currency: String,
    /// Attributed revenue in minor units.
    pub attributed_minor: crate::scalars::MinorUnits,
    /// Incentives owed in minor units.
    pub incentive_minor: crate::scalars::MinorUnits,
    /// Deals counted.
    pub deals: i32,
}

/// A partner's attributed revenue and incentives on the current versions of deals finalized in
/// `[from, to)`. A partner may ask only for its own; the vendor for any partner.
pub async fn statement(
    db: &DatabaseConnection,
    principal: &Principal,
    partner_id: Option<i64>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<(i64, Vec<StatementLine>, Vec<CurrencyTotal>)> {
    let pid = match (principal.party, partner_id) {
        (Party::Partner(me), None) => me,
        (Party::Partner(me), Some(p)) if p == me => me,
        (Party::Partner(_), Some(_)) => return Err(AppError::NotFound("Partner")),
        (Party::Vendor, Some(p)) => p,
        (Party::Vendor, None) => {
            return Err(AppError::bad_field(
                "partnerId",
                "the vendor names the partner of the statement",
            ))
        }
    };
    principal.require_read(Resource::Opportunities)?;
    principal.require_read(Resource::Registrations)?;
    let current: Vec<i64> = version::Entity::find()
        .filter(version::Column::Current.eq(true))
        .all(db)
        .await?
        .into_iter()
        .map(|v| v.id)
        .collect();
    let mut q = row::Entity::find()
        .filter(row::Column::PartnerId.eq(pid))
        .filter(row::Column::VersionId.is_in(current));
    if let Some(f) = from {
        q = q.filter(row::Column::FinalizedAt.gte(f));
    }
    if let Some(t) = to {
        q = q.filter(row::Column::FinalizedAt.lt(t));
    }
    let rows = q
        .order_by_asc(row::Column::FinalizedAt)
        .order_by_asc(row::Column::Id)
        .all(db)
        .await?;
    let mut totals: BTreeMap<String, (i64, i64, i32)> = BTreeMap::new();
    for r in &rows {
        let t = totals.entry(r.currency.clone()).or_default();
        t.0 += r.amount_minor;
        t.1 += r.incentive_minor;
        t.2 += 1;
    }
    Ok((
        pid,
        rows.into_iter()
            .map(|r| StatementLine {
                opportunity_id: r.opportunity_id,
                row: r,
            })
            .collect(),
        totals
            .into_iter()
            .map(|(currency, (a, i, n))| CurrencyTotal {
                currency,
                attributed_minor: crate::scalars::MinorUnits(a),
                incentive_minor: crate::scalars::MinorUnits(i),
                deals: n,
            })
            .collect(),
    ))
}

/// Program-wide attribution settings (vendor ADMIN).
#[derive(InputObject, Debug)]
pub struct UpdateAttributionSettingsInput {
    /// The version you read.
    pub expected_version: i32,
    /// The model of deals that set none.
    pub default_model: Option<AttributionModel>,
    /// Whether the vendor's direct team takes a share in ROLE_WEIGHTED, EQUAL and CONTRIBUTION.
    pub include_direct_team: Option<bool>,
    /// The direct team's weight in ROLE_WEIGHTED, in basis points (0 to 10000).
    pub direct_team_weight_bps: Option<i32>,
}

pub async fn update_settings(
    db: &DatabaseConnection,
    principal: &Principal,
    input: UpdateAttributionSettingsInput,
) -> AppResult<settings::Model> {
    principal.require_vendor_admin("change attribution settings")?;
    let mut c = <settings::ActiveModel as Default>::default();
    if let Some(m) = input.default_model {
        c.default_model = Set(m);
    }
    if let Some(d) = input.include_direct_team {
        c.include_direct_team = Set(d);
    }
    if let Some(w) = input.direct_team_weight_bps {
        if !(0..=10_000).contains(&w) {
            return Err(AppError::bad_field(
                "directTeamWeightBps",
                "directTeamWeightBps must be 0 to 10000",
            ));
        }
        c.direct_team_weight_bps = Set(w);
    }
    let txn = super::begin_write(db).await?;
    let before = settings_of(&txn).await?;
    super::check_version(
        "AttributionSettings",
        input.expected_version,
        before.version,
    )?;
    c.updated_at = Set(Utc::now());
    super::update_versioned(
        &txn,
        "AttributionSettings",
        c,
        settings::Column::Id,
        settings::Column::Version,
        1,
        before.version,
    )
    .await?;
    let after = settings_of(&txn).await?;
    txn.commit().await?;
    Ok(after)
}

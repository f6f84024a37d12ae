//! The program: partners, accounts (with their name keys), opportunities across every stage
//! with their stage history, and registrations in every status.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use entity::enums::{
    OpportunityStage, PartnerStatus, PartnerTier, RegistrationRole, RegistrationStatus,
};
use entity::{
    account, account_name_key, opportunity, opportunity_stage_change, partner, registration,
};
use sea_orm::{DatabaseConnection, EntityTrait, Set};
use serde_json::json;

use super::names::{self, NOUNS, REGIONS, THEMES};
use super::{history, Rng, Size, BATCH, SLOTS};
use crate::error::AppResult;

/// A seeded deal as the rest of the seed needs it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Deal {
    pub account: u64,
    pub stage: OpportunityStage,
}

/// Partners 1..=`count`, active, their tier going round the four.
pub(super) async fn write_partners(
    db: &DatabaseConnection,
    count: u64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let tiers = [
        PartnerTier::Registered,
        PartnerTier::Silver,
        PartnerTier::Gold,
        PartnerTier::Platinum,
    ];
    for start in (1..=count).step_by(BATCH as usize) {
        let rows = (start..(start + BATCH).min(count + 1)).map(|id| partner::ActiveModel {
            id: Set(id as i64),
            name: Set(format!("Partner {id:05}")),
            tier: Set(tiers[(id % 4) as usize]),
            status: Set(PartnerStatus::Active),
            specialisations: Set(json!(["CRM"])),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        });
        partner::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(())
}

/// Accounts 1..=`count` ([`names::account_name`]) with their name keys.
pub(super) async fn write_accounts(
    db: &DatabaseConnection,
    count: u64,
    now: DateTime<Utc>,
) -> AppResult<()> {
    for start in (1..=count).step_by(BATCH as usize) {
        let ids: Vec<u64> = (start..(start + BATCH).min(count + 1)).collect();
        let names: Vec<String> = ids.iter().map(|id| names::account_name(*id)).collect();
        let rows = ids
            .iter()
            .zip(&names)
            .map(|(id, name)| account::ActiveModel {
                id: Set(*id as i64),
                name: Set(name.clone()),
                domain: Set(format!("account{id}.example.com")),
                industry: Set(Some(NOUNS[(id % 8) as usize].to_string())),
                region: Set(Some(REGIONS[(id % 4) as usize].to_string())),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
            });
        account::Entity::insert_many(rows).exec(db).await?;
        let keys: Vec<account_name_key::ActiveModel> = ids
            .iter()
            .zip(&names)
            .flat_map(|(id, name)| {
                crate::domain::registration::name_keys(name)
                    .into_iter()
                    .map(move |key| account_name_key::ActiveModel {
                        key: Set(key),
                        account_id: Set(*id as i64),
                    })
            })
            .collect();
        for chunk in keys.chunks(BATCH as usize) {
            account_name_key::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await?;
        }
    }
    Ok(())
}

const STAGES: [OpportunityStage; 7] = [
    OpportunityStage::Prospecting,
    OpportunityStage::Qualification,
    OpportunityStage::Solution,
    OpportunityStage::Proposal,
    OpportunityStage::Negotiation,
    OpportunityStage::ClosedWon,
    OpportunityStage::ClosedLost,
];

/// Opportunities 1..=`size.opportunities` on random accounts and stages, each with the stage
/// history that led to its stage. Deal `id` was created `430 - 400 * id / count` days ago, so
/// ids follow creation and the newest deal is a month old (older than the claims on it). Returns
/// each deal's account and stage, in id order, and how many history rows were written.
pub(super) async fn write_opportunities(
    db: &DatabaseConnection,
    size: Size,
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> AppResult<(Vec<Deal>, u64)> {
    // Names, products and history draw from their own sequence, so the deals' accounts,
    // stages and amounts (and the claims drawn after them) do not depend on them.
    let mut story = Rng(0x6a09_e667_f3bc_c908);
    let mut deals: Vec<Deal> = Vec::with_capacity(size.opportunities as usize);
    let close = NaiveDate::from_ymd_opt(2027, 6, 30).unwrap_or_default();
    let oldest = now - Duration::days(430);
    let span = Duration::days(400).num_seconds() as f64;
    let mut changes = 0u64;
    for start in (1..=size.opportunities).step_by(BATCH as usize) {
        let mut rows = Vec::new();
        let mut history_rows = Vec::new();
        for id in start..(start + BATCH).min(size.opportunities + 1) {
            let acct = 1 + rng.below(size.accounts);
            let stage = STAGES[rng.below(STAGES.len() as u64) as usize];
            deals.push(Deal {
                account: acct,
                stage,
            });
            let created = oldest
                + Duration::seconds((span * (id - 1) as f64 / size.opportunities as f64) as i64);
            let owner = format!("seller{}@vendor.example", id % 50);
            let path = history::path(stage, &mut story);
            let at = history::times(created, &path, now, &mut story);
            let last = *at.last().unwrap_or(&created);
            history_rows.extend(history::rows(
                id as i64,
                changes as i64 + 1,
                &path,
                &at,
                &owner,
                &mut story,
            ));
            changes += path.len() as u64;
            let theme = story.below(THEMES.len() as u64) as usize;
            let mut products = vec![THEMES[theme].0];
            if story.below(10) < 3 {
                products.push(THEMES[(theme + 1 + story.below(3) as usize) % THEMES.len()].0);
            }
            rows.push(opportunity::ActiveModel {
                id: Set(id as i64),
                account_id: Set(acct as i64),
                name: Set(names::deal_name(acct, theme, story.next())),
                stage: Set(stage),
                amount_minor: Set(100_000 + rng.below(10_000_000) as i64),
                currency: Set("USD".into()),
                expected_close_date: Set(close - Duration::days(rng.below(365) as i64)),
                owner: Set(owner),
                region: Set(Some(REGIONS[(acct % 4) as usize].to_string())),
                products: Set(json!(products)),
                forecast_notes: Set(None),
                probability: Set(Some((rng.below(10) * 10) as i32)),
                // Each stage move bumps the version, as `moveOpportunityStage` does.
                version: Set(path.len() as i32),
                created_at: Set(created),
                updated_at: Set(last),
                closed_at: Set(stage.is_closed().then_some(last)),
            });
        }
        opportunity::Entity::insert_many(rows).exec(db).await?;
        for chunk in history_rows.chunks(BATCH as usize) {
            opportunity_stage_change::Entity::insert_many(chunk.to_vec())
                .exec(db)
                .await?;
        }
    }
    Ok((deals, changes))
}

/// How long a seeded decision took, in seconds: from minutes to 14 days, skewed towards the
/// first days (the square of a uniform draw).
fn decision_seconds(rng: &mut Rng) -> i64 {
    const SPAN: u64 = 14 * 24 * 3600;
    let u = rng.below(10_000);
    (SPAN * u * u / 100_000_000 + rng.below(3600)) as i64
}

/// Registrations 1..=`count`, going round the `deals`; the k-th claim on a deal is by partner
/// slot k (distinct partners) and only slot 0 holds the exclusive RESELLER role. Returns, per
/// deal, the partners whose claim lets them see it (its parties besides the vendor).
pub(super) async fn write_registrations(
    db: &DatabaseConnection,
    size: Size,
    count: u64,
    deals: &[Deal],
    now: DateTime<Utc>,
    rng: &mut Rng,
) -> AppResult<Vec<Vec<u32>>> {
    let roles = [
        RegistrationRole::Reseller,
        RegistrationRole::Referral,
        RegistrationRole::Influencer,
        RegistrationRole::SystemIntegrator,
        RegistrationRole::Services,
        RegistrationRole::Isv,
        RegistrationRole::Referral,
        RegistrationRole::Services,
    ];
    let spread = size.partners / SLOTS;
    let mut parties: Vec<Vec<u32>> = vec![Vec::new(); deals.len()];
    for start in (0..count).step_by(BATCH as usize) {
        let mut rows = Vec::new();
        for i in start..(start + BATCH).min(count) {
            let deal = i % size.opportunities;
            let slot = i / size.opportunities;
            let Deal {
                account: acct,
                stage,
            } = deals[deal as usize];
            let partner = 1 + (slot * spread + (deal * 7919) % spread) % size.partners;
            let status = claim_status(stage, rng);
            if crate::auth::scope::SEES_DEAL.contains(&status) {
                parties[deal as usize].push(partner as u32);
            }
            let decided = !matches!(
                status,
                RegistrationStatus::Submitted | RegistrationStatus::UnderReview
            );
            let submitted_at = now - Duration::days(30);
            // Decisions took from a few minutes to two weeks, most of them a few days.
            let took = decision_seconds(rng);
            rows.push(registration::ActiveModel {
                id: Set(i as i64 + 1),
                partner_id: Set(partner as i64),
                opportunity_id: Set(Some(deal as i64 + 1)),
                account_domain: Set(format!("account{acct}.example.com")),
                role: Set(roles[slot as usize]),
                status: Set(status),
                justification: Set("Seeded claim.".into()),
                auto_approved: Set(false),
                submitted_at: Set(Some(submitted_at)),
                decided_at: Set(decided.then_some(submitted_at + Duration::seconds(took))),
                decided_by: Set(decided.then(|| "seed".to_string())),
                decision_seconds: Set(decided.then_some(took)),
                protection_expires_at: Set(
                    (status == RegistrationStatus::Approved).then_some(now + Duration::days(60))
                ),
                version: Set(2),
                created_at: Set(now - Duration::days(30)),
                updated_at: Set(now - Duration::days(20)),
                ..Default::default()
            });
        }
        registration::Entity::insert_many(rows).exec(db).await?;
    }
    Ok(parties)
}

/// A random claim's status that fits its deal's `stage`: an approved claim on a closed deal is
/// won or lost with it, and an undecided one was withdrawn.
fn claim_status(stage: OpportunityStage, rng: &mut Rng) -> RegistrationStatus {
    let open = match rng.below(10) {
        0..=3 => RegistrationStatus::Approved,
        4 => RegistrationStatus::Submitted,
        5 => RegistrationStatus::UnderReview,
        6 => RegistrationStatus::Rejected,
        7 => RegistrationStatus::Withdrawn,
        _ => RegistrationStatus::Expired,
    };
    match (stage, open) {
        (OpportunityStage::ClosedWon, RegistrationStatus::Approved) => RegistrationStatus::Won,
        (OpportunityStage::ClosedLost, RegistrationStatus::Approved) => RegistrationStatus::Lost,
        (
            OpportunityStage::ClosedWon | OpportunityStage::ClosedLost,
            RegistrationStatus::Submitted | RegistrationStatus::UnderReview,
        ) => RegistrationStatus::Withdrawn,
        (_, s) => s,
    }
}

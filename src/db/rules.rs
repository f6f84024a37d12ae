//! Collaboration rules: one row per registration role; vendors read them, ADMINs change them.

use chrono::Utc;
use entity::collaboration_rule::{ActiveModel, Column, Entity, Model};
use entity::enums::{PartnerTier, RegistrationRole};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryOrder, Set,
};

use super::events::{self, NewEvent};
use crate::auth::scope::{Heard, Subject};
use crate::auth::{can, Grant};
use crate::auth::{Principal, Resource};
use crate::db::events::payload::CollaborationRuleChanged;
use crate::domain::money::MAX_MINOR_UNITS;
use crate::domain::registration::AutoApproval;
use crate::error::{AppError, AppResult};

/// Every role's rule, in role order. Every person may read the rules: they are the program's
/// published terms; an app needs `registrations:read`, as for the registrations they govern.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn all(db: &DatabaseConnection, principal: &Principal) -> AppResult<Vec<Model>> {
    principal.require_read(Resource::Registrations)?;
    let mut rows = Entity::find().order_by_asc(Column::Role).all(db).await?;
    rows.sort_by_key(|r| r.role);
    Ok(rows)
}

/// One role's rule, read inside a transaction.
pub async fn of<C: ConnectionTrait>(conn: &C, role: RegistrationRole) -> AppResult<Model> {
    Entity::find_by_id(role)
        .one(conn)
        .await?
        .ok_or_else(|| AppError::Internal(format!("no collaboration rule for {}", role.as_str())))
}

/// The auto-approval policy a role's rule sets (the submission path, on a rule it read).
pub fn auto_approval(rule: &Model) -> AutoApproval {
    AutoApproval {
        enabled: rule.auto_approve,
        min_tier: rule.auto_approve_min_tier,
        max_amount_minor: rule.auto_approve_max_amount_minor,
    }
}

/// Changes to one role's rule. Omitted fields keep their value.
#[derive(Debug)]
pub struct UpdateCollaborationRule {
    /// The role whose rule changes.
    pub role: RegistrationRole,
    /// The version you read; refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// Whether only one partner may hold this role on an opportunity.
    pub exclusive: Option<bool>,
    /// Days an approved registration protects its partner (1 to 730).
    pub protection_days: Option<i32>,
    /// Default attribution weight in basis points (0 to 10000).
    pub attribution_weight_bps: Option<i32>,
    /// Approve submissions at once when the policy holds and nothing conflicts.
    pub auto_approve: Option<bool>,
    /// Lowest partner tier the policy approves; `clear_auto_approve_min_tier` removes it.
    pub auto_approve_min_tier: Option<PartnerTier>,
    /// Remove the tier condition.
    pub clear_auto_approve_min_tier: bool,
    /// Largest deal amount (minor units) the policy approves; `clear_auto_approve_max_amount`
    /// removes it.
    pub auto_approve_max_amount: Option<i64>,
    /// Remove the amount cap.
    pub clear_auto_approve_max_amount: bool,
}

/// The checked changes `input` asks for, as a row to write.
fn changes(input: &UpdateCollaborationRule) -> AppResult<ActiveModel> {
    let mut c = <ActiveModel as Default>::default();
    if let Some(e) = input.exclusive {
        c.exclusive = Set(e);
    }
    if let Some(d) = input.protection_days {
        if !(1..=730).contains(&d) {
            return Err(AppError::bad_field(
                "protectionDays",
                "protectionDays must be 1 to 730",
            ));
        }
        c.protection_days = Set(d);
    }
    if let Some(w) = input.attribution_weight_bps {
        if !(0..=10_000).contains(&w) {
            return Err(AppError::bad_field(
                "attributionWeightBps",
                "attributionWeightBps must be 0 to 10000",
            ));
        }
        c.attribution_weight_bps = Set(w);
    }
    if let Some(a) = input.auto_approve {
        c.auto_approve = Set(a);
    }
    if input.clear_auto_approve_min_tier {
        c.auto_approve_min_tier = Set(None);
    } else if let Some(t) = input.auto_approve_min_tier {
        c.auto_approve_min_tier = Set(Some(t));
    }
    if input.clear_auto_approve_max_amount {
        c.auto_approve_max_amount_minor = Set(None);
    } else if let Some(a) = input.auto_approve_max_amount {
        if a > MAX_MINOR_UNITS {
            return Err(AppError::bad_field(
                "autoApproveMaxAmount",
                "the amount is too large",
            ));
        }
        c.auto_approve_max_amount_minor = Set(Some(a));
    }
    Ok(c)
}

/// Changes one role's rule (vendor ADMINs, through the `SetCollaborationRules` grant);
/// returns the rule as it now stands.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn update(
    db: &DatabaseConnection,
    grant: &Grant<can::SetCollaborationRules>,
    input: UpdateCollaborationRule,
) -> AppResult<Model> {
    let principal = grant.principal();
    let mut c = changes(&input)?;
    let txn = super::begin_write(db).await?;
    let before = of(&txn, input.role).await?;
    super::check_version("CollaborationRule", input.expected_version, before.version)?;
    c.updated_at = Set(Utc::now());
    super::update_versioned(
        &txn,
        "CollaborationRule",
        c,
        Column::Role,
        Column::Version,
        input.role,
        before.version,
    )
    .await?;
    let after = of(&txn, input.role).await?;
    events::append(
        &txn,
        principal,
        NewEvent::new(
            events::Topic::CollaborationRuleUpdated,
            Heard::vendor(Subject::Program),
            format!("CollaborationRule:{}", input.role.as_str()),
            &CollaborationRuleChanged {
                role: after.role,
                exclusive: after.exclusive,
                protection_days: after.protection_days,
                attribution_weight_bps: after.attribution_weight_bps,
                auto_approve: after.auto_approve,
                auto_approve_min_tier: after.auto_approve_min_tier,
                auto_approve_max_amount: after.auto_approve_max_amount_minor,
            },
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Sets a role's auto-approval policy directly (demo loading).
pub async fn set_auto_approval(
    db: &DatabaseConnection,
    role: RegistrationRole,
    policy: AutoApproval,
) -> AppResult<()> {
    let m = ActiveModel {
        role: Set(role),
        auto_approve: Set(policy.enabled),
        auto_approve_min_tier: Set(policy.min_tier),
        auto_approve_max_amount_minor: Set(policy.max_amount_minor),
        updated_at: Set(Utc::now()),
        ..Default::default()
    };
    m.update(db).await?;
    Ok(())
}

//! Program figures: registrations by status, approval rate and time to decision, overall, by
//! partner and by role. Computed over the registrations the caller may see, so a partner's
//! figures are its own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::enums::{RegistrationRole, RegistrationStatus};
use entity::registration::Column;
use sea_orm::{ColumnTrait, DatabaseConnection, QueryFilter, QuerySelect};

use crate::auth::{Principal, Resource};
use crate::domain::registration::median;
use crate::error::AppResult;

/// How many registrations are in one status.
#[derive(Clone, Debug)]
pub struct StatusCount {
    /// The status.
    pub status: RegistrationStatus,
    /// How many registrations are in it now.
    pub count: u64,
}

/// Decision figures for a group of registrations.
#[derive(Clone, Debug, Default)]
pub struct DecisionFigures {
    /// Registrations submitted at least once (drafts excluded).
    pub submitted: u64,
    /// Registrations the vendor or the policy approved (including those since WON, LOST or
    /// EXPIRED).
    pub approved: u64,
    /// Registrations the vendor rejected.
    pub rejected: u64,
    /// approved / (approved + rejected), 0 to 1; null before any decision.
    pub approval_rate: Option<f64>,
    /// Median hours from submission to decision; null before any decision.
    pub median_hours_to_decision: Option<f64>,
}

/// Figures of one partner.
#[derive(Clone, Debug)]
pub struct PartnerFigures {
    /// The partner's row id.
    pub partner_id: i64,
    /// Its figures.
    pub figures: DecisionFigures,
}

/// Figures of one role.
#[derive(Clone, Debug)]
pub struct RoleFigures {
    /// The role.
    pub role: RegistrationRole,
    /// Its figures.
    pub figures: DecisionFigures,
}

/// The program's registration figures.
#[derive(Clone, Debug)]
pub struct ProgramFigures {
    /// Registrations in each status (statuses with none are listed with 0).
    pub by_status: Vec<StatusCount>,
    /// Over every registration counted.
    pub overall: DecisionFigures,
    /// Per partner (a partner sees only itself).
    pub by_partner: Vec<PartnerFigures>,
    /// Per role.
    pub by_role: Vec<RoleFigures>,
}

type Row = (
    i64,
    RegistrationRole,
    RegistrationStatus,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

#[derive(Default)]
struct Acc {
    submitted: u64,
    approved: u64,
    rejected: u64,
    hours: Vec<f64>,
}

impl Acc {
    fn add(&mut self, r: &Row) {
        let (_, _, status, submitted_at, decided_at) = r;
        // Submitted at least once: a draft withdrawn before submission does not count.
        if submitted_at.is_some() {
            self.submitted += 1;
        }
        let approved = matches!(
            status,
            RegistrationStatus::Approved
                | RegistrationStatus::Won
                | RegistrationStatus::Lost
                | RegistrationStatus::Expired
        );
        if approved {
            self.approved += 1;
        }
        if *status == RegistrationStatus::Rejected {
            self.rejected += 1;
        }
        if let (true, Some(s), Some(d)) = (
            approved || *status == RegistrationStatus::Rejected,
            submitted_at,
            decided_at,
        ) {
            self.hours.push((*d - *s).num_seconds() as f64 / 3600.0);
        }
    }

    fn finish(mut self) -> DecisionFigures {
        let decided = self.approved + self.rejected;
        DecisionFigures {
            submitted: self.submitted,
            approved: self.approved,
            rejected: self.rejected,
            approval_rate: (decided > 0).then(|| self.approved as f64 / decided as f64),
            median_hours_to_decision: median(&mut self.hours).map(|h| (h * 100.0).round() / 100.0),
        }
    }
}

/// Figures over the registrations created in `[from, to)` that `principal` may see.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn figures(
    db: &DatabaseConnection,
    principal: &Principal,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<ProgramFigures> {
    principal.require_read(Resource::Registrations)?;
    let mut q = super::visible(principal)
        .select_only()
        .column(Column::PartnerId)
        .column(Column::Role)
        .column(Column::Status)
        .column(Column::SubmittedAt)
        .column(Column::DecidedAt);
    if let Some(f) = from {
        q = q.filter(Column::CreatedAt.gte(f));
    }
    if let Some(t) = to {
        q = q.filter(Column::CreatedAt.lt(t));
    }
    let rows: Vec<Row> = q.into_tuple().all(db).await?;
    let mut by_status: BTreeMap<RegistrationStatus, u64> =
        RegistrationStatus::ALL.iter().map(|s| (*s, 0)).collect();
    let mut overall = Acc::default();
    let mut partners: BTreeMap<i64, Acc> = BTreeMap::new();
    let mut roles: BTreeMap<RegistrationRole, Acc> = BTreeMap::new();
    for r in &rows {
        *by_status.entry(r.2).or_default() += 1;
        overall.add(r);
        partners.entry(r.0).or_default().add(r);
        roles.entry(r.1).or_default().add(r);
    }
    Ok(ProgramFigures {
        by_status: by_status
            .into_iter()
            .map(|(status, count)| StatusCount { status, count })
            .collect(),
        overall: overall.finish(),
        by_partner: partners
            .into_iter()
            .map(|(p, a)| PartnerFigures {
                partner_id: p,
                figures: a.finish(),
            })
            .collect(),
        by_role: roles
            .into_iter()
            .map(|(role, a)| RoleFigures {
                role,
                figures: a.finish(),
            })
            .collect(),
    })
}

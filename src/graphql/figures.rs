//! Program figures as GraphQL objects, built from the data layer's.

use async_graphql::{ComplexObject, Context, Result, SimpleObject, ID};
use entity::enums::{RegistrationRole, RegistrationStatus};

use crate::db::registrations::figures as data;
use crate::ids::{self, Kind};

/// How many registrations are in one status.
#[derive(SimpleObject)]
pub struct StatusCount {
    /// The status.
    pub status: RegistrationStatus,
    /// How many registrations are in it now.
    pub count: u64,
}

/// Decision figures for a group of registrations.
#[derive(SimpleObject)]
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

impl From<data::DecisionFigures> for DecisionFigures {
    fn from(f: data::DecisionFigures) -> Self {
        Self {
            submitted: f.submitted,
            approved: f.approved,
            rejected: f.rejected,
            approval_rate: f.approval_rate,
            median_hours_to_decision: f.median_hours_to_decision,
        }
    }
}

/// Figures of one partner.
#[derive(SimpleObject)]
pub struct PartnerFigures {
    /// The partner's ID.
    pub partner_id: ID,
    /// Its figures.
    pub figures: DecisionFigures,
}

/// Figures of one role.
#[derive(SimpleObject)]
pub struct RoleFigures {
    /// The role.
    pub role: RegistrationRole,
    /// Its figures.
    pub figures: DecisionFigures,
}

/// The program's registration figures.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ProgramFigures {
    /// Registrations in each status (statuses with none are listed with 0).
    pub by_status: Vec<StatusCount>,
    /// Over every registration counted.
    pub overall: DecisionFigures,
    /// Per partner (a partner sees only itself).
    pub by_partner: Vec<PartnerFigures>,
    /// Per role.
    pub by_role: Vec<RoleFigures>,
    /// The window counted (`from`, `to`).
    #[graphql(skip)]
    pub window: Window,
}

/// Created at or after, and before.
pub type Window = (
    Option<chrono::DateTime<chrono::Utc>>,
    Option<chrono::DateTime<chrono::Utc>>,
);

#[ComplexObject]
impl ProgramFigures {
    /// How partners answer the vendor's invitations made in the same window: acceptance rate
    /// and median time to answer, overall, by partner and by role (a partner sees only its
    /// own).
    async fn invitations(&self, ctx: &Context<'_>) -> Result<super::invitation::InvitationFigures> {
        let (from, to) = self.window;
        Ok(
            crate::db::invitations::figures(super::db(ctx), super::principal(ctx), from, to)
                .await?
                .into(),
        )
    }
}

impl From<data::ProgramFigures> for ProgramFigures {
    fn from(f: data::ProgramFigures) -> Self {
        Self {
            by_status: f
                .by_status
                .into_iter()
                .map(|s| StatusCount {
                    status: s.status,
                    count: s.count,
                })
                .collect(),
            overall: f.overall.into(),
            by_partner: f
                .by_partner
                .into_iter()
                .map(|p| PartnerFigures {
                    partner_id: ids::encode(Kind::Partner, p.partner_id).into(),
                    figures: p.figures.into(),
                })
                .collect(),
            by_role: f
                .by_role
                .into_iter()
                .map(|r| RoleFigures {
                    role: r.role,
                    figures: r.figures.into(),
                })
                .collect(),
            window: (None, None),
        }
    }
}

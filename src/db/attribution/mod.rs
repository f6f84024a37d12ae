//! Attribution: how the credit and the incentives of a deal are split between the parties on
//! it (the partners with APPROVED or WON registrations, and the vendor's direct team when the
//! program includes it). Live preview while the deal is open; frozen on CLOSED_WON; changed
//! afterwards only by an ADMIN's audited correction, which keeps the old version.

mod inputs;
mod program;
mod statements;
mod writes;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::attribution::{row, version};
use entity::enums::AttributionModel;
use entity::opportunity;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder};

use crate::auth::scope::{condition, AttributionRows, AttributionVersions, Rule};
use crate::auth::Principal;
use crate::error::AppResult;
use inputs::{compute, inputs};

pub use crate::domain::attribution::{engagement_weight, Line};

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

/// The lines of a split `principal` may read, under the attribution rows' read rule.
fn visible_lines(principal: &Principal, lines: Vec<Line>) -> Vec<Line> {
    let view = AttributionRows::view(principal);
    lines
        .into_iter()
        .filter(|l| AttributionRows::admits_party(view, l.partner_id))
        .collect()
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

/// Every version of a deal's frozen split, newest first (vendor only).
pub async fn versions(
    db: &DatabaseConnection,
    principal: &Principal,
    opp_id: i64,
) -> AppResult<Vec<version::Model>> {
    Ok(version::Entity::find()
        .filter(condition::<AttributionVersions>(principal))
        .filter(version::Column::OpportunityId.eq(opp_id))
        .order_by_desc(version::Column::Number)
        .all(db)
        .await?)
}

pub use program::{
    rates, set_rate, settings, settings_of, update_settings, SetIncentiveRate,
    UpdateAttributionSettings,
};
pub use statements::{statement, CurrencyTotal, StatementLine};
pub use writes::{correct, set_model, CorrectAttribution, ManualShare, SetAttributionModel};

pub(in crate::db) use writes::finalize_in;

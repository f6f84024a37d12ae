//! The risk report: open deals at risk, largest first, read from the kept assessments.

use entity::enums::OpportunityStage;
use entity::opportunity;
use entity::threading_assessment::{Column, Entity, Model};
use sea_orm::sea_query::{Expr, IntoCondition};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

use super::kept::{self, holding, summary_of};
use super::ThreadingWindow;
use crate::auth::{Principal, Resource};
use crate::domain::threading::{RiskKind, Summary, RISKY_BELOW};
use crate::error::{AppError, AppResult};

/// One line of the risk report.
#[derive(Debug, Clone)]
pub struct RiskLine {
    pub opportunity: opportunity::Model,
    /// The shared part of its assessment, holding today.
    pub summary: Summary,
}

/// What the report asks of a deal's assessment.
fn wanted(risk: Option<RiskKind>, s: &Summary) -> bool {
    match risk {
        Some(k) => s.risks.contains(&k),
        None => s.score < RISKY_BELOW,
    }
}

/// [`wanted`] as a condition on kept rows.
fn wanted_condition(risk: Option<RiskKind>) -> Condition {
    match risk {
        Some(k) => Expr::cust(format!(
            "(\"threading_assessments\".\"risks\" & {}) <> 0",
            k.bit()
        ))
        .into_condition(),
        None => Column::Score.lt(RISKY_BELOW as i32).into_condition(),
    }
}

/// Open opportunities the caller may see whose threading score is under the risky threshold
/// (or that carry `risk`), largest amount first: a walk down the open deals by amount, reading
/// the rows that hold today and match, and the rows that do not hold (assessed afresh).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn risk_report(
    db: &DatabaseConnection,
    principal: &Principal,
    risk: Option<RiskKind>,
    partner_id: Option<i64>,
    stages: Option<Vec<OpportunityStage>>,
    limit: u64,
    window: ThreadingWindow,
) -> AppResult<Vec<RiskLine>> {
    principal.require_read(Resource::Opportunities)?;
    // Each line is a threading assessment, which describes the contact network.
    principal.require_read(Resource::Contacts)?;
    let today = kept::today();
    let mut q = Entity::find()
        .find_also_related(opportunity::Entity)
        .filter(crate::db::opportunities::scope(principal))
        // The bare column, as the partial index says it, so the plan can walk that index.
        .filter(Expr::col((Entity, Column::IsOpen)).into_condition())
        .filter(
            Condition::any()
                .add(holding(today, window).not())
                .add(wanted_condition(risk)),
        );
    if let Some(s) = stages {
        q = q.filter(Column::Stage.is_in(s));
    }
    if let Some(p) = partner_id {
        // Which deals another partner is on is the vendor's to know.
        if !principal.is_vendor_party() || !principal.may_read(Resource::Registrations) {
            return Err(AppError::Forbidden(
                "only the vendor filters the risk report by partner".into(),
            ));
        }
        q = q.filter(
            Column::OpportunityId.in_subquery(crate::db::registrations::deals_of_partner(p)),
        );
    }
    let chunk = limit + 8;
    let mut lines: Vec<RiskLine> = Vec::new();
    let mut after: Option<(i64, i64)> = None;
    loop {
        let mut page = q.clone();
        if let Some((amount, id)) = after {
            page = page.filter(
                Condition::any().add(Column::AmountMinor.lt(amount)).add(
                    Condition::all()
                        .add(Column::AmountMinor.eq(amount))
                        .add(Column::OpportunityId.gt(id)),
                ),
            );
        }
        let rows: Vec<(Model, Option<opportunity::Model>)> = page
            .order_by_desc(Column::AmountMinor)
            .order_by_asc(Column::OpportunityId)
            .limit(chunk)
            .all(db)
            .await?;
        let done = (rows.len() as u64) < chunk;
        after = rows.last().map(|(k, _)| (k.amount_minor, k.opportunity_id));
        collect(db, principal, rows, risk, window, &mut lines).await?;
        if done || lines.len() as u64 >= limit {
            break;
        }
    }
    lines.truncate(limit as usize);
    Ok(lines)
}

/// Adds the report's lines among `rows` (in order) to `lines`: rows that hold as they are,
/// the others assessed afresh.
async fn collect(
    db: &DatabaseConnection,
    principal: &Principal,
    rows: Vec<(Model, Option<opportunity::Model>)>,
    risk: Option<RiskKind>,
    window: ThreadingWindow,
    lines: &mut Vec<RiskLine>,
) -> AppResult<()> {
    let today = kept::today();
    let stale: Vec<i64> = rows
        .iter()
        .filter(|(k, _)| !kept::holds(k, today, window))
        .map(|(k, _)| k.opportunity_id)
        .collect();
    let mut afresh = kept::assess_afresh(db, principal, &stale, window, today).await?;
    for (k, o) in rows {
        let Some(o) = o else { continue };
        let summary = if kept::holds(&k, today, window) {
            summary_of(&k)
        } else {
            match afresh.remove(&k.opportunity_id) {
                Some(s) => s,
                None => continue,
            }
        };
        if wanted(risk, &summary) {
            lines.push(RiskLine {
                opportunity: crate::db::opportunities::redact(principal, o),
                summary,
            });
        }
    }
    Ok(())
}

//! The risk report: open deals at risk, largest first, read from the kept assessments.

use std::collections::HashMap;

use chrono::NaiveDate;
use entity::enums::OpportunityStage;
use entity::opportunity;
use entity::threading_assessment::{Column, Entity, Model};
use sea_orm::sea_query::{Expr, IntoCondition};
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, FromQueryResult, QueryFilter,
    QueryOrder, QuerySelect,
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
    // The deals' rule on the kept rows' key: the walk reads no deal until a line is kept.
    let mut q = Entity::find()
        .filter(crate::auth::scope::Opportunities::by_id(
            principal,
            Column::OpportunityId,
        ))
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
        let rows: Vec<Walked> = page
            .select_only()
            .columns([
                Column::OpportunityId,
                Column::AmountMinor,
                Column::Score,
                Column::Risks,
                Column::WindowDays,
                Column::AssessedOn,
                Column::ValidUntil,
            ])
            .order_by_desc(Column::AmountMinor)
            .order_by_asc(Column::OpportunityId)
            .limit(chunk)
            .into_model::<Walked>()
            .all(db)
            .await?;
        let done = (rows.len() as u64) < chunk;
        after = rows.last().map(|k| (k.amount_minor, k.opportunity_id));
        collect(db, principal, rows, risk, window, &mut lines).await?;
        if done || lines.len() as u64 >= limit {
            break;
        }
    }
    lines.truncate(limit as usize);
    Ok(lines)
}

/// What the walk reads of a kept row: the columns of the index it walks.
#[derive(Debug, FromQueryResult)]
struct Walked {
    opportunity_id: i64,
    amount_minor: i64,
    score: i32,
    risks: i32,
    window_days: i32,
    assessed_on: NaiveDate,
    valid_until: NaiveDate,
}

/// Adds the report's lines among `rows` (in order) to `lines`: rows that hold as they are,
/// the others assessed afresh; then reads the lines' kept rows and deals (two statements).
async fn collect(
    db: &DatabaseConnection,
    principal: &Principal,
    rows: Vec<Walked>,
    risk: Option<RiskKind>,
    window: ThreadingWindow,
    lines: &mut Vec<RiskLine>,
) -> AppResult<()> {
    let today = kept::today();
    let holds =
        |w: &Walked| kept::holds_for(w.window_days, w.assessed_on, w.valid_until, today, window);
    let stale: Vec<i64> = rows
        .iter()
        .filter(|w| !holds(w))
        .map(|w| w.opportunity_id)
        .collect();
    let mut afresh = kept::assess_afresh(db, principal, &stale, window, today).await?;
    // The lines in order: a kept row that holds and matches, or a fresh summary that matches.
    let mut found: Vec<(i64, Option<Summary>)> = Vec::new();
    for w in rows {
        if holds(&w) {
            let matches = match risk {
                Some(k) => w.risks & k.bit() != 0,
                None => w.score < RISKY_BELOW as i32,
            };
            if matches {
                found.push((w.opportunity_id, None));
            }
        } else if let Some(s) = afresh.remove(&w.opportunity_id) {
            if wanted(risk, &s) {
                found.push((w.opportunity_id, Some(s)));
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = found.iter().map(|(id, _)| *id).collect();
    let kept_ids: Vec<i64> = found
        .iter()
        .filter(|(_, s)| s.is_none())
        .map(|(id, _)| *id)
        .collect();
    let mut rows: HashMap<i64, Model> = if kept_ids.is_empty() {
        HashMap::new()
    } else {
        Entity::find()
            .filter(Column::OpportunityId.is_in(kept_ids))
            .all(db)
            .await?
            .into_iter()
            .map(|m| (m.opportunity_id, m))
            .collect()
    };
    let mut deals: HashMap<i64, opportunity::Model> = crate::db::opportunities::visible(principal)
        .filter(opportunity::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    for (id, fresh) in found {
        let summary = match fresh {
            Some(s) => s,
            None => match rows.remove(&id) {
                Some(m) => summary_of(&m),
                None => continue,
            },
        };
        // A row changed since the walk read it is judged as it now stands.
        if !wanted(risk, &summary) {
            continue;
        }
        if let Some(o) = deals.remove(&id) {
            lines.push(RiskLine {
                opportunity: crate::db::opportunities::redact(principal, o),
                summary,
            });
        }
    }
    Ok(())
}

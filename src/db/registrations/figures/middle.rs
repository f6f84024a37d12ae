//! The decisions at each group's middle ranks, read from the groups' decision-time indexes.

use chrono::{DateTime, Utc};
use entity::enums::RegistrationRole;
use entity::registration::{Column, Entity};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend};

use super::{Group, COUNTED};
use crate::auth::scope::{self, Rule, View};
use crate::error::AppResult;

/// Where to find a group's middle decisions: its decisions taking `from` seconds or more, of
/// which `below` took less, are read in ascending order from the index up to the `ranks`.
pub(super) struct Middle {
    pub(super) group: Group,
    pub(super) from: i64,
    pub(super) ranks: Vec<u64>,
    pub(super) below: u64,
}

/// The decisions at the middle ranks of each group, in one statement: per rank, an ordered
/// read of the group's index from the span's start, `OFFSET` the rank within the span, so a
/// group costs its index entries in one span, never its claims. On PostgreSQL the ranks are
/// one JSON parameter and the statement's text is the same for every request of a caller (its
/// plan is kept: hundreds of subqueries would be planned anew each time); SQLite, which
/// cannot offset by a column, gets one subquery per rank. Returns `(group, rank, seconds)`.
/// The creation times the decisions are read among: `[from, to)`, either end open.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Window {
    pub(super) from: Option<DateTime<Utc>>,
    pub(super) to: Option<DateTime<Utc>>,
}

pub(super) async fn middle_decisions(
    txn: &DatabaseTransaction,
    view: View,
    reads: &[Middle],
    window: Window,
) -> AppResult<Vec<(Group, u64, i64)>> {
    use sea_orm::sea_query::{
        Expr, ExprTrait, Order, PostgresQueryBuilder, Query, SqliteQueryBuilder,
    };
    let backend = txn.get_database_backend();
    // The group's counted decisions taking `from` seconds or more, in ascending order.
    let read = |group: Group, from: Expr, partner: Expr, role: Expr| {
        let mut q = Query::select()
            .column(Column::DecisionSeconds)
            .from(Entity)
            .cond_where(scope::Registrations::condition(view))
            .and_where(Expr::cust(COUNTED))
            .and_where(Expr::col(Column::DecisionSeconds).gte(from))
            .order_by(Column::DecisionSeconds, Order::Asc)
            .to_owned();
        if let Some(f) = window.from {
            q.and_where(Expr::col(Column::CreatedAt).gte(f));
        }
        if let Some(t) = window.to {
            q.and_where(Expr::col(Column::CreatedAt).lt(t));
        }
        match group {
            Group::Overall => {}
            Group::Partner(_) => {
                q.and_where(Expr::col(Column::PartnerId).eq(partner));
            }
            Group::Role(_) => {
                q.and_where(Expr::col(Column::Role).eq(role));
            }
        }
        match backend {
            DbBackend::Postgres => q.to_string(PostgresQueryBuilder),
            _ => q.to_string(SqliteQueryBuilder),
        }
    };
    let mut wanted = Vec::new();
    let mut rows = Vec::new();
    for m in reads {
        for rank in &m.ranks {
            let (kind, partner, role) = match m.group {
                Group::Overall => (0, 0, ""),
                Group::Partner(p) => (1, p, ""),
                Group::Role(r) => (2, 0, r.as_str()),
            };
            rows.push(serde_json::json!({
                "i": wanted.len(), "kind": kind, "p": partner, "r": role,
                "f": m.from, "o": rank - m.below,
            }));
            wanted.push((m.group, *rank));
        }
    }
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let statement = if backend == DbBackend::Postgres {
        let sub = |g: Group| {
            format!(
                "({} LIMIT 1 OFFSET g.o)",
                read(g, Expr::cust("g.f"), Expr::cust("g.p"), Expr::cust("g.r"))
            )
        };
        let sql = format!(
            "SELECT g.i, CASE g.kind WHEN 0 THEN {} WHEN 1 THEN {} ELSE {} END \
             FROM json_to_recordset($1::json) \
               AS g(i BIGINT, kind INT, p BIGINT, r TEXT, f BIGINT, o BIGINT)",
            sub(Group::Overall),
            sub(Group::Partner(0)),
            sub(Group::Role(RegistrationRole::Reseller)),
        );
        sea_orm::Statement::from_sql_and_values(
            backend,
            sql,
            [serde_json::Value::Array(rows).to_string().into()],
        )
    } else {
        let values: Vec<String> = reads
            .iter()
            .flat_map(|m| m.ranks.iter().map(move |rank| (m, rank)))
            .enumerate()
            .map(|(i, (m, rank))| {
                let (partner, role) = match m.group {
                    Group::Partner(p) => (p, ""),
                    Group::Role(r) => (0, r.as_str()),
                    Group::Overall => (0, ""),
                };
                // SQLite plans without statistics: named, the group's index is walked in
                // order rather than every decision read through the status index and sorted.
                let index = match (m.group, view) {
                    (Group::Overall, View::Everything) => "ix_registrations_decision_time",
                    (Group::Role(_), View::Everything) => "ix_registrations_decision_time_role",
                    _ => "ix_registrations_decision_time_partner",
                };
                let sql = read(
                    m.group,
                    Expr::val(m.from),
                    Expr::val(partner),
                    Expr::val(role),
                )
                .replacen(
                    r#"FROM "registrations""#,
                    &format!(r#"FROM "registrations" INDEXED BY "{index}""#),
                    1,
                );
                format!("({i}, ({sql} LIMIT 1 OFFSET {}))", rank - m.below)
            })
            .collect();
        sea_orm::Statement::from_string(
            backend,
            format!("SELECT * FROM (VALUES {}) AS m", values.join(", ")),
        )
    };
    let mut out = Vec::with_capacity(wanted.len());
    for r in txn.query_all_raw(statement).await? {
        let (i, seconds): (i64, Option<i64>) = (r.try_get_by_index(0)?, r.try_get_by_index(1)?);
        if let (Some((g, rank)), Some(s)) =
            (usize::try_from(i).ok().and_then(|i| wanted.get(i)), seconds)
        {
            out.push((*g, *rank, s));
        }
    }
    Ok(out)
}

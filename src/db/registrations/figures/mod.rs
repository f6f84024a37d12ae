//! Program figures: registrations by status, approval rate and time to decision, overall, by
//! partner and by role. Computed over the registrations the caller may see, so a partner's
//! figures are its own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::enums::{RegistrationRole, RegistrationStatus};
use entity::registration::Column;
use sea_orm::{
    AccessMode, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, IsolationLevel, QueryFilter, QuerySelect, TransactionTrait,
};

use crate::auth::scope::{self, Rule, View};
use crate::auth::{Principal, Resource};
use crate::error::AppResult;

mod middle;

use middle::{middle_decisions, Middle, Window};

/// How many registrations are in one status.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusCount {
    /// The status.
    pub status: RegistrationStatus,
    /// How many registrations are in it now.
    pub count: u64,
}

/// Decision figures for a group of registrations.
#[derive(Clone, Debug, Default, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
pub struct PartnerFigures {
    /// The partner's row id.
    pub partner_id: i64,
    /// Its figures.
    pub figures: DecisionFigures,
}

/// Figures of one role.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleFigures {
    /// The role.
    pub role: RegistrationRole,
    /// Its figures.
    pub figures: DecisionFigures,
}

/// The program's registration figures.
#[derive(Clone, Debug, PartialEq)]
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

/// The width of one span of the decision tally, in seconds (migration 35).
const BUCKET: i64 = migration::m20261207_000035_keep_decision_times::BUCKET_SECONDS;

/// The decisions the figures count, as SQL over a claim row: approved (including those since
/// WON, LOST or EXPIRED) or rejected, with the time the decision took (migration 35's indexes
/// have the same condition).
const COUNTED: &str = "decision_seconds IS NOT NULL AND \
     status IN ('APPROVED', 'WON', 'LOST', 'EXPIRED', 'REJECTED')";

/// A group the figures are given for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Overall,
    Partner(i64),
    Role(RegistrationRole),
}

impl Group {
    /// The groups a claim of `partner` in `role` counts in.
    fn of(partner: i64, role: RegistrationRole) -> [Group; 3] {
        [Group::Overall, Group::Partner(partner), Group::Role(role)]
    }
}

/// One group's counts, and what its median is found from.
#[derive(Default)]
struct Acc {
    submitted: u64,
    approved: u64,
    rejected: u64,
    /// Counted decisions.
    decided: u64,
    /// The times (seconds) at 0-based ranks `(decided - 1) / 2` and `decided / 2` among the
    /// group's counted decisions in ascending order.
    middle: BTreeMap<u64, i64>,
}

impl Acc {
    /// Adds `n` claims in `status`, submitted or not.
    fn add(&mut self, status: RegistrationStatus, submitted: bool, n: u64) {
        if submitted {
            self.submitted += n;
        }
        if matches!(
            status,
            RegistrationStatus::Approved
                | RegistrationStatus::Won
                | RegistrationStatus::Lost
                | RegistrationStatus::Expired
        ) {
            self.approved += n;
        }
        if status == RegistrationStatus::Rejected {
            self.rejected += n;
        }
    }

    /// The 0-based ranks of the middle decisions.
    fn middle_ranks(&self) -> Option<(u64, u64)> {
        (self.decided > 0).then(|| ((self.decided - 1) / 2, self.decided / 2))
    }

    fn finish(self) -> DecisionFigures {
        let decided = self.approved + self.rejected;
        // Hours as a fraction of the seconds, averaged as `domain::registration::median` does.
        let hours = |rank: u64| self.middle.get(&rank).map(|s| *s as f64 / 3600.0);
        let median = self.middle_ranks().and_then(|(lo, hi)| {
            let (a, b) = (hours(lo)?, hours(hi)?);
            Some(if lo == hi { a } else { (a + b) / 2.0 })
        });
        DecisionFigures {
            submitted: self.submitted,
            approved: self.approved,
            rejected: self.rejected,
            approval_rate: (decided > 0).then(|| self.approved as f64 / decided as f64),
            median_hours_to_decision: median.map(|h| (h * 100.0).round() / 100.0),
        }
    }
}

/// Figures over the registrations created in `[from, to)` that `principal` may see. Without
/// a window they come from the claim and decision tallies and the few decisions around each
/// group's middle; with one, from counts over the window's claims in the database and each
/// group's middle decisions read by rank. Either way the numbers are those of every visible
/// claim, read in one snapshot.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn figures(
    db: &DatabaseConnection,
    principal: &Principal,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<ProgramFigures> {
    principal.require_read(Resource::Registrations)?;
    let view = scope::Registrations::view(principal);
    let backend = db.get_database_backend();
    let txn = db
        .begin_with_config(
            (backend == DbBackend::Postgres).then_some(IsolationLevel::RepeatableRead),
            (backend == DbBackend::Postgres).then_some(AccessMode::ReadOnly),
        )
        .await?;
    let groups = if from.is_none() && to.is_none() {
        tallied(&txn, view).await?
    } else {
        aggregated(&txn, principal, view, from, to).await?
    };
    txn.commit().await?;
    Ok(finish(groups))
}

/// Counts by partner, role, status and submission: `(partner_id, role, status, submitted, n)`.
type CountRow = (i64, RegistrationRole, RegistrationStatus, bool, i64);

/// Adds the counts of `rows` to their groups.
fn add_counts(
    groups: &mut BTreeMap<Group, Acc>,
    by_status: &mut Vec<CountRow>,
    rows: Vec<CountRow>,
) {
    for r in rows {
        let (partner, role, status, submitted, n) = r;
        for g in Group::of(partner, role) {
            groups
                .entry(g)
                .or_default()
                .add(status, submitted, n.max(0) as u64);
        }
        by_status.push(r);
    }
}

/// The figures from the tallies (no window).
async fn tallied(
    txn: &DatabaseTransaction,
    view: View,
) -> AppResult<(BTreeMap<Group, Acc>, Vec<CountRow>)> {
    use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
    let col = |c: &str| Expr::col(Alias::new(c));
    // Claims by key, from the claim tally.
    let counts = Query::select()
        .columns([
            Alias::new("partner_id"),
            Alias::new("role"),
            Alias::new("status"),
            Alias::new("submitted"),
        ])
        .expr_as(Expr::cust("CAST(SUM(delta) AS BIGINT)"), Alias::new("n"))
        .from(Alias::new("registration_tally"))
        .cond_where(scope::Registrations::on_partner(view, col("partner_id")))
        .group_by_columns([
            Alias::new("partner_id"),
            Alias::new("role"),
            Alias::new("status"),
            Alias::new("submitted"),
        ])
        .and_having(Expr::cust("SUM(delta) <> 0"))
        .to_owned();
    let rows: Vec<CountRow> = txn
        .query_all(&counts)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("", "partner_id")?,
                r.try_get("", "role")?,
                r.try_get("", "status")?,
                r.try_get("", "submitted")?,
                r.try_get("", "n")?,
            ))
        })
        .collect::<Result<_, DbErr>>()?;
    let mut groups: BTreeMap<Group, Acc> = BTreeMap::new();
    let mut by_status = Vec::new();
    add_counts(&mut groups, &mut by_status, rows);

    // Decisions by how long they took, from the decision tally: the vendor reads the rows kept
    // for the program, per role and per partner; a partner its own, per role and overall.
    let mut hist = Query::select()
        .columns([
            Alias::new("partner_id"),
            Alias::new("role"),
            Alias::new("bucket"),
        ])
        .expr_as(Expr::cust("CAST(SUM(delta) AS BIGINT)"), Alias::new("n"))
        .from(Alias::new("decision_tally"))
        .cond_where(scope::Registrations::on_partner(view, col("partner_id")))
        .group_by_columns([
            Alias::new("partner_id"),
            Alias::new("role"),
            Alias::new("bucket"),
        ])
        .and_having(Expr::cust("SUM(delta) <> 0"))
        .to_owned();
    let partner = match view {
        View::Partner(p) => Some(p),
        _ => None,
    };
    if partner.is_none() {
        hist.cond_where(
            Condition::any()
                .add(col("partner_id").eq(0))
                .add(col("role").eq("")),
        );
    }
    let mut spans: BTreeMap<Group, BTreeMap<i64, u64>> = BTreeMap::new();
    for r in txn.query_all(&hist).await? {
        let (p, role, bucket, n): (i64, String, i64, i64) = (
            r.try_get("", "partner_id")?,
            r.try_get("", "role")?,
            r.try_get("", "bucket")?,
            r.try_get("", "n")?,
        );
        // Role '' stands for every role; a role this server does not know is left out.
        let role = match RegistrationRole::ALL
            .into_iter()
            .find(|x| x.as_str() == role)
        {
            Some(r) => Some(r),
            None if role.is_empty() => None,
            None => continue,
        };
        let keys: Vec<Group> = match (partner, p, role) {
            // A partner's own rows: per role, and (role '') its whole, which is its overall.
            (Some(_), _, Some(r)) => vec![Group::Role(r)],
            (Some(_), p, None) => vec![Group::Overall, Group::Partner(p)],
            (None, 0, Some(r)) => vec![Group::Role(r)],
            (None, 0, None) => vec![Group::Overall],
            (None, p, None) => vec![Group::Partner(p)],
            (None, _, Some(_)) => vec![],
        };
        for g in keys {
            *spans.entry(g).or_default().entry(bucket).or_default() +=
                u64::try_from(n).unwrap_or(0);
        }
    }

    // Where each group's middle decisions are: the first span holding one, and how many of
    // the group's decisions took less time than that span.
    let mut reads: Vec<Middle> = Vec::new();
    for (g, hist) in &spans {
        let acc = groups.entry(*g).or_default();
        acc.decided = hist.values().sum();
        let Some((lo, hi)) = acc.middle_ranks() else {
            continue;
        };
        let mut below = 0u64;
        for (bucket, n) in hist {
            if below + n > lo {
                reads.push(Middle {
                    group: *g,
                    from: bucket * BUCKET,
                    ranks: if lo == hi { vec![lo] } else { vec![lo, hi] },
                    below,
                });
                break;
            }
            below += n;
        }
    }
    for (g, rank, seconds) in middle_decisions(txn, view, &reads, Window::default()).await? {
        groups.entry(g).or_default().middle.insert(rank, seconds);
    }
    Ok((groups, by_status))
}

/// The figures over the claims created in the window, from the database: counts grouped by
/// partner, role, status and submission (with each key's counted decisions), then each
/// group's middle decisions read by rank from the group's decision-time index, which ends
/// with the creation time, so the window is checked on the index (see [`middle_decisions`]).
async fn aggregated(
    txn: &DatabaseTransaction,
    principal: &Principal,
    view: View,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> AppResult<(BTreeMap<Group, Acc>, Vec<CountRow>)> {
    use sea_orm::sea_query::Expr;
    let mut counts = super::visible(principal);
    if let Some(f) = from {
        counts = counts.filter(Column::CreatedAt.gte(f));
    }
    if let Some(t) = to {
        counts = counts.filter(Column::CreatedAt.lt(t));
    }
    let counts = counts
        .select_only()
        .column(Column::PartnerId)
        .column(Column::Role)
        .column(Column::Status)
        .column_as(Expr::cust("submitted_at IS NOT NULL"), "submitted")
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "n")
        .column_as(
            Expr::cust(format!(
                "CAST(SUM(CASE WHEN {COUNTED} THEN 1 ELSE 0 END) AS BIGINT)"
            )),
            "decided",
        )
        .group_by(Column::PartnerId)
        .group_by(Column::Role)
        .group_by(Column::Status)
        .group_by(Expr::cust("submitted_at IS NOT NULL"));
    type Row = (i64, RegistrationRole, RegistrationStatus, bool, i64, i64);
    let rows: Vec<Row> = counts.into_tuple().all(txn).await?;
    let mut groups: BTreeMap<Group, Acc> = BTreeMap::new();
    for (partner, role, _, _, _, decided) in &rows {
        for g in Group::of(*partner, *role) {
            groups.entry(g).or_default().decided += u64::try_from(*decided).unwrap_or(0);
        }
    }
    let mut by_status = Vec::new();
    add_counts(
        &mut groups,
        &mut by_status,
        rows.into_iter()
            .map(|(p, r, s, sub, n, _)| (p, r, s, sub, n))
            .collect(),
    );
    // Each group's middle ranks, counted from its smallest decision time.
    let reads: Vec<Middle> = groups
        .iter()
        .filter_map(|(g, acc)| {
            let (lo, hi) = acc.middle_ranks()?;
            Some(Middle {
                group: *g,
                from: i64::MIN,
                ranks: if lo == hi { vec![lo] } else { vec![lo, hi] },
                below: 0,
            })
        })
        .collect();
    let window = Window { from, to };
    for (g, rank, seconds) in middle_decisions(txn, view, &reads, window).await? {
        groups.entry(g).or_default().middle.insert(rank, seconds);
    }
    Ok((groups, by_status))
}

/// The figures of each group, in the order the API lists them.
fn finish((groups, counts): (BTreeMap<Group, Acc>, Vec<CountRow>)) -> ProgramFigures {
    let mut by_status: BTreeMap<RegistrationStatus, u64> =
        RegistrationStatus::ALL.iter().map(|s| (*s, 0)).collect();
    for (_, _, status, _, n) in counts {
        *by_status.entry(status).or_default() += n.max(0) as u64;
    }
    let mut overall = None;
    let mut by_partner = Vec::new();
    let mut by_role = Vec::new();
    for (g, acc) in groups {
        match g {
            Group::Overall => overall = Some(acc.finish()),
            Group::Partner(partner_id) => by_partner.push(PartnerFigures {
                partner_id,
                figures: acc.finish(),
            }),
            Group::Role(role) => by_role.push(RoleFigures {
                role,
                figures: acc.finish(),
            }),
        }
    }
    ProgramFigures {
        by_status: by_status
            .into_iter()
            .map(|(status, count)| StatusCount { status, count })
            .collect(),
        overall: overall.unwrap_or_default(),
        by_partner,
        by_role,
    }
}

//! Rows read by position.
//!
//! A model derived by sea-orm reads each column of each row by name: it formats the name
//! (`format!("{prefix}{column}")`), looks it up in the row's column map and, for every NULL,
//! formats the column's name again into an error it then discards. On a page of deals with
//! their claims that was the largest single cost of a request after the allocator. The models
//! read on the hot paths (pages and batch loads) are read here instead: the columns' positions
//! are found once per result, from the first row, and every row is then read by index.
//!
//! A model's field list below must name every field (the struct literal does not compile
//! otherwise), and a column the statement did not select is an error naming it, never a
//! silently empty field.

use std::marker::PhantomData;

use sea_orm::{
    Condition, ConnectionTrait, DbErr, EntityTrait, IdenStatic, Iterable, JoinType, QueryResult,
    QuerySelect, QueryTrait, RelationDef, Select,
};

/// A model that can be read from a row by the positions of its columns.
pub trait ByPosition: Sized {
    /// The model's columns, in the order `read` takes them.
    const COLUMNS: &'static [&'static str];
    /// Reads one row; `at[i]` is the position of `COLUMNS[i]` in the row.
    fn read(row: &QueryResult, at: &[usize]) -> Result<Self, DbErr>;

    /// Where each column `read` takes is among a result's column `names`.
    fn positions(names: &[String]) -> Result<Vec<usize>, DbErr> {
        Self::COLUMNS
            .iter()
            .map(|c| {
                names
                    .iter()
                    .position(|n| n == c)
                    .ok_or_else(|| DbErr::Custom(format!("column {c} is not in the result")))
            })
            .collect()
    }
}

/// What the columns of a joined table are named in a result: its own names with this prefix.
pub const JOINED: &str = "j_";

/// Which prefix a joined table's columns are named with, so that one statement can join two.
pub trait Prefix {
    const PREFIX: &'static str;
}

/// The first table joined: [`JOINED`].
pub struct First;
impl Prefix for First {
    const PREFIX: &'static str = JOINED;
}

/// A second table joined: `k_`.
pub struct Second;
impl Prefix for Second {
    const PREFIX: &'static str = "k_";
}

/// `select` with the table of `relation` left-joined on the joined table's own `scope` (a row
/// the caller may not see joins as NULLs), its columns `J` named with the [`JOINED`] prefix.
pub fn join_scoped<E: EntityTrait, J: EntityTrait>(
    select: Select<E>,
    relation: RelationDef,
    scope: Condition,
) -> Select<E> {
    join_scoped_as::<E, J, First>(select, relation, scope)
}

/// [`join_scoped`] with the columns named with `P`'s prefix.
pub fn join_scoped_as<E: EntityTrait, J: EntityTrait, P: Prefix>(
    select: Select<E>,
    relation: RelationDef,
    scope: Condition,
) -> Select<E> {
    let mut q = select.join(
        JoinType::LeftJoin,
        relation.on_condition(move |_, _| scope.clone()),
    );
    for c in J::Column::iter() {
        q = q.column_as(c, format!("{}{}", P::PREFIX, c.as_str()));
    }
    q
}

/// Where each of `B`'s columns is among a result's column `names`, named with [`JOINED`].
pub fn joined_positions<B: ByPosition>(names: &[String]) -> Result<Vec<usize>, DbErr> {
    joined_positions_as::<B, First>(names)
}

/// [`joined_positions`] for columns named with `P`'s prefix.
pub fn joined_positions_as<B: ByPosition, P: Prefix>(
    names: &[String],
) -> Result<Vec<usize>, DbErr> {
    let joined: Vec<String> = names
        .iter()
        .map(|n| n.strip_prefix(P::PREFIX).unwrap_or_default().to_string())
        .collect();
    B::positions(&joined)
}

/// A row of `A` with the row of `B` a left join found for it (`None` where it found none), `B`'s
/// columns named with `P`'s prefix ([`JOINED`] unless said otherwise). `B`'s first column is
/// its key, NULL when no row was found.
pub struct Joined<A, B, P = First>(pub A, pub Option<B>, PhantomData<P>);

impl<A: ByPosition, B: ByPosition, P: Prefix> ByPosition for Joined<A, B, P> {
    const COLUMNS: &'static [&'static str] = A::COLUMNS;

    fn read(row: &QueryResult, at: &[usize]) -> Result<Self, DbErr> {
        // `A`'s positions come first, however many it has (a nested `Joined` has more than
        // its own columns); `B`'s are the last `B::COLUMNS.len()`.
        let (a, b) = at.split_at(at.len() - B::COLUMNS.len());
        let found = row.try_get_by_index::<Option<i64>>(b[0])?.is_some();
        Ok(Joined(
            A::read(row, a)?,
            if found { Some(B::read(row, b)?) } else { None },
            PhantomData,
        ))
    }

    fn positions(names: &[String]) -> Result<Vec<usize>, DbErr> {
        let mut at = A::positions(names)?;
        at.extend(joined_positions_as::<B, P>(names)?);
        Ok(at)
    }
}

/// Runs `query` and reads every row as `M`, by position.
pub async fn all<M, Q, C>(conn: &C, query: &Q) -> Result<Vec<M>, DbErr>
where
    M: ByPosition,
    Q: QueryTrait,
    C: ConnectionTrait,
{
    let rows = conn
        .query_all_raw(query.build(conn.get_database_backend()))
        .await?;
    read(&rows)
}

/// Reads `rows` (of one result) as `M`, by position. Columns not of `M` are left alone.
pub fn read<M: ByPosition>(rows: &[QueryResult]) -> Result<Vec<M>, DbErr> {
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let at = M::positions(&first.column_names())?;
    rows.iter().map(|row| M::read(row, &at)).collect()
}

/// A model read without its long columns: the select leaves them out and the model holds
/// placeholders in their place, which only code that never reads those fields may be given.
pub struct WithoutLong<M>(pub M);

/// Implements [`ByPosition`] for an entity model whose fields are named like its columns, or
/// for [`WithoutLong`] of one, with the placeholders of the columns it leaves out.
macro_rules! by_position {
    (WithoutLong<$model:path> { $($field:ident),+ $(,)? } else { $($blank:ident: $value:expr),+ $(,)? }) => {
        impl ByPosition for WithoutLong<$model> {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn read(row: &QueryResult, at: &[usize]) -> Result<Self, DbErr> {
                type Model = $model;
                let mut next = at.iter().copied();
                Ok(WithoutLong(Model {
                    $($field: row.try_get_by_index(
                        next.next().expect("one position per column"),
                    )?,)+
                    $($blank: $value,)+
                }))
            }
        }
    };
    ($model:path { $($field:ident),+ $(,)? }) => {
        impl ByPosition for $model {
            const COLUMNS: &'static [&'static str] = &[$(stringify!($field)),+];

            fn read(row: &QueryResult, at: &[usize]) -> Result<Self, DbErr> {
                let mut next = at.iter().copied();
                Ok(Self {
                    $($field: row.try_get_by_index(
                        next.next().expect("one position per column"),
                    )?,)+
                })
            }
        }
    };
}

by_position!(entity::account::Model {
    id,
    name,
    domain,
    industry,
    region,
    version,
    created_at,
    updated_at
});
by_position!(entity::partner::Model {
    id,
    name,
    tier,
    status,
    specialisations,
    version,
    created_at,
    updated_at
});
by_position!(entity::opportunity::Model {
    id,
    account_id,
    name,
    stage,
    amount_minor,
    currency,
    expected_close_date,
    owner,
    region,
    products,
    forecast_notes,
    probability,
    version,
    created_at,
    updated_at,
    closed_at
});
// A page of deals read for a dashboard: no product list (JSON), no forecast notes (long text).
by_position!(WithoutLong<entity::opportunity::Model> {
    id,
    account_id,
    name,
    stage,
    amount_minor,
    currency,
    expected_close_date,
    owner,
    region,
    probability,
    version,
    created_at,
    updated_at,
    closed_at
} else {
    products: serde_json::Value::Array(Vec::new()),
    forecast_notes: None,
});
by_position!(entity::registration::Model {
    id,
    partner_id,
    opportunity_id,
    account_domain,
    account_name,
    deal_name,
    amount_minor,
    currency,
    expected_close_date,
    role,
    status,
    justification,
    private_notes,
    idempotency_key,
    idempotency_fingerprint,
    info_request,
    extension_requested_days,
    extension_reason,
    protection_expires_at,
    submitted_at,
    decided_at,
    decided_by,
    decision_reason,
    decision_seconds,
    auto_approved,
    version,
    created_at,
    updated_at
});
by_position!(entity::conflict::Model {
    id,
    kind,
    registration_id,
    other_registration_id,
    opportunity_id,
    status,
    resolution,
    winner_registration_id,
    resolved_by,
    resolved_by_partner_id,
    resolution_reason,
    resolved_at,
    created_at
});
by_position!(entity::contact::Model {
    id,
    account_id,
    name,
    email,
    email_key,
    title,
    department,
    seniority,
    buying_role,
    status,
    successor_id,
    sourced_by_partner_id,
    shared,
    version,
    created_at,
    updated_at
});
by_position!(entity::invitation::Model {
    id,
    opportunity_id,
    partner_id,
    role,
    status,
    message,
    shared,
    expires_at,
    invited_by,
    decline_reason,
    registration_id,
    closed_at,
    idempotency_key,
    idempotency_fingerprint,
    version,
    created_at,
    updated_at
});
// The threading assessments of a page of deals.
by_position!(entity::threading_assessment::Model {
    opportunity_id,
    account_id,
    stage,
    is_open,
    amount_minor,
    score,
    risks,
    engaged_contacts,
    buying_roles,
    parties,
    last_engaged_on,
    window_days,
    assessed_on,
    valid_until,
    updated_at
});

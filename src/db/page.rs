//! Keyset (cursor) pagination shared by every connection.
//!
//! A cursor encodes the ordering it was made for, the row's sort key and its id, so pages stay
//! stable while rows are added and a cursor from another ordering is refused.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Select, Statement, Value,
};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// `first`/`after`/`last`/`before` as the client sent them.
#[derive(Debug, Default, Clone)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// Page-size bounds from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct PageLimits {
    pub default_size: u32,
    pub max_size: u32,
}

/// The value a row is sorted by, before its id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SortKey {
    Id,
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

impl SortKey {
    fn value(&self) -> Option<Value> {
        match self {
            SortKey::Id => None,
            SortKey::Int(v) => Some((*v).into()),
            SortKey::Text(v) => Some(v.clone().into()),
            SortKey::Date(v) => Some((*v).into()),
            SortKey::Time(v) => Some((*v).into()),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CursorData {
    o: String,
    k: SortKey,
    i: i64,
}

/// How a list is ordered: an optional column, then the id, both in one direction.
pub struct Ordering<E: EntityTrait> {
    /// Stable name of the ordering, written into cursors.
    pub name: String,
    pub column: Option<E::Column>,
    pub id: E::Column,
    pub desc: bool,
}

/// One page of rows with their cursors.
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next: bool,
    pub has_previous: bool,
}

impl<T> Page<T> {
    /// The same page with each row turned into another type.
    pub fn map<U>(self, mut f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next: self.has_next,
            has_previous: self.has_previous,
        }
    }
    /// The cursor of the page's first row, if any (any caller of a list).
    pub fn start_cursor(&self) -> Option<String> {
        self.items.first().map(|(c, _)| c.clone())
    }
    /// The cursor of the page's last row, if any (any caller of a list).
    pub fn end_cursor(&self) -> Option<String> {
        self.items.last().map(|(c, _)| c.clone())
    }
}

/// How a list's `totalCount` is made: the list's own query counted, or one statement that
/// answers the same number from fewer rows (a tally, a partner's accounts).
#[derive(Clone)]
pub enum Count<E: EntityTrait> {
    /// Count the rows of this query.
    Rows(Select<E>),
    /// Read the number from the column `n` of this statement's one row.
    Statement(SelectStatement),
}

impl<E: EntityTrait> Count<E>
where
    E::Model: Sync,
{
    /// The number of rows (any caller of a list; the statement is already scoped).
    pub async fn get<C: ConnectionTrait>(&self, conn: &C) -> AppResult<u64> {
        let n: i64 = match self {
            Count::Rows(q) => return Ok(q.clone().count(conn).await?),
            Count::Statement(s) => match conn.query_one(s).await? {
                Some(row) => row.try_get("", "n")?,
                None => 0,
            },
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// The first page of `n` from `rows` (up to `n + 1` rows read in order by id, the extra one
/// telling that more follow), with cursors of the id ordering `ordering`.
pub fn first_by_id<T>(
    mut rows: Vec<T>,
    n: u64,
    ordering: &str,
    id_of: impl Fn(&T) -> i64,
) -> Page<T> {
    let has_next = rows.len() as u64 > n;
    rows.truncate(n as usize);
    Page {
        items: rows
            .into_iter()
            .map(|m| (encode_cursor(ordering, SortKey::Id, id_of(&m)), m))
            .collect(),
        has_next,
        has_previous: false,
    }
}

fn encode_cursor(ordering: &str, key: SortKey, id: i64) -> String {
    let data = CursorData {
        o: ordering.to_string(),
        k: key,
        i: id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).unwrap_or_default())
}

fn decode_cursor(field: &'static str, ordering: &str, cursor: &str) -> AppResult<(SortKey, i64)> {
    let bad = || {
        AppError::bad_field(
            field,
            format!(
                "`{field}` is not a cursor from this list; use a cursor from pageInfo or an edge"
            ),
        )
    };
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let data: CursorData = serde_json::from_slice(&raw).map_err(|_| bad())?;
    if data.o != ordering {
        return Err(AppError::bad_field(
            field,
            format!("`{field}` was made for another ordering; restart from the first page"),
        ));
    }
    Ok((data.k, data.i))
}

/// Checks the page-size arguments and returns the size and direction (`true` = backwards).
pub fn size(args: &PageArgs, limits: PageLimits) -> AppResult<(u64, bool)> {
    let check = |name: &'static str, v: i32| -> AppResult<u64> {
        if v < 1 || v as u32 > limits.max_size {
            Err(AppError::bad_field(
                name,
                format!("`{name}` must be between 1 and {}", limits.max_size),
            ))
        } else {
            Ok(v as u64)
        }
    };
    match (args.first, args.last) {
        (Some(_), Some(_)) => Err(AppError::bad_input("pass `first` or `last`, not both")),
        (Some(f), None) => Ok((check("first", f)?, false)),
        (None, Some(l)) => Ok((check("last", l)?, true)),
        (None, None) if args.before.is_some() => Ok((limits.default_size as u64, true)),
        (None, None) => Ok((limits.default_size as u64, false)),
    }
}

/// Rows strictly after (`after = true`) or before the cursor position in the ordering.
fn beyond<E: EntityTrait>(ord: &Ordering<E>, key: &SortKey, id: i64, after: bool) -> Condition {
    let greater = after != ord.desc;
    let cmp = |col: E::Column, v: Value| -> SimpleExpr {
        if greater {
            col.gt(v)
        } else {
            col.lt(v)
        }
    };
    match (ord.column, key.value()) {
        (Some(col), Some(v)) => Condition::any()
            .add(cmp(col, v.clone()))
            .add(Condition::all().add(col.eq(v)).add(cmp(ord.id, id.into()))),
        _ => Condition::all().add(cmp(ord.id, id.into())),
    }
}

/// `statement` (ending in its bound `LIMIT limit`) with the limit written into the text instead.
///
/// PostgreSQL plans a prepared statement once for all its executions only when that plan is not
/// estimated dearer than planning each execution for its values; with the row limit bound, the
/// one plan is costed for an unknown number of rows and never chosen, so every page was
/// planned afresh, a join especially. A page's limit is one of at most 101 values, so a
/// connection keeps few statements per kind of page. A statement of another form is returned
/// as it is.
fn literal_limit(mut statement: Statement, limit: u64) -> Statement {
    let Some(values) = statement.values.as_mut() else {
        return statement;
    };
    let bound = match statement.db_backend {
        DbBackend::Postgres => format!(" LIMIT ${}", values.0.len()),
        _ => " LIMIT ?".to_string(),
    };
    if statement.sql.ends_with(&bound) && values.0.last() == Some(&Value::from(limit)) {
        values.0.pop();
        let keep = statement.sql.len() - bound.len();
        statement.sql.truncate(keep);
        statement.sql.push_str(&format!(" LIMIT {limit}"));
    }
    statement
}

/// Fetches one page of `select` in `ord`, with `key_of`/`id_of` reading a row's position.
pub async fn fetch<E, C>(
    conn: &C,
    select: Select<E>,
    ord: &Ordering<E>,
    args: &PageArgs,
    limits: PageLimits,
    key_of: impl Fn(&E::Model) -> SortKey,
    id_of: impl Fn(&E::Model) -> i64,
) -> AppResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: super::rows::ByPosition,
    C: ConnectionTrait,
{
    fetch_as(conn, select, ord, args, limits, key_of, id_of).await
}

/// [`fetch`] reading each row as `M`: a model read from fewer columns than the entity's (the
/// select names them).
pub async fn fetch_as<E, M, C>(
    conn: &C,
    select: Select<E>,
    ord: &Ordering<E>,
    args: &PageArgs,
    limits: PageLimits,
    key_of: impl Fn(&M) -> SortKey,
    id_of: impl Fn(&M) -> i64,
) -> AppResult<Page<M>>
where
    E: EntityTrait,
    M: super::rows::ByPosition,
    C: ConnectionTrait,
{
    let (n, backwards) = size(args, limits)?;
    let mut q = select;
    if let Some(c) = &args.after {
        let (k, id) = decode_cursor("after", &ord.name, c)?;
        q = q.filter(beyond(ord, &k, id, true));
    }
    if let Some(c) = &args.before {
        let (k, id) = decode_cursor("before", &ord.name, c)?;
        q = q.filter(beyond(ord, &k, id, false));
    }
    let dir = if ord.desc != backwards {
        Order::Desc
    } else {
        Order::Asc
    };
    if let Some(col) = ord.column {
        q = q.order_by(col, dir.clone());
    }
    q = q.order_by(ord.id, dir).limit(n + 1);
    let statement = literal_limit(q.build(conn.get_database_backend()), n + 1);
    let mut rows: Vec<M> = super::rows::read(&conn.query_all_raw(statement).await?)?;
    let extra = rows.len() as u64 > n;
    rows.truncate(n as usize);
    if backwards {
        rows.reverse();
    }
    let items = rows
        .into_iter()
        .map(|m| (encode_cursor(&ord.name, key_of(&m), id_of(&m)), m))
        .collect();
    let (has_next, has_previous) = if backwards {
        (args.before.is_some(), extra)
    } else {
        (extra, args.after.is_some())
    };
    Ok(Page {
        items,
        has_next,
        has_previous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        let l = PageLimits {
            default_size: 20,
            max_size: 100,
        };
        let a = |first, last| PageArgs {
            first,
            last,
            ..Default::default()
        };
        assert_eq!(size(&a(None, None), l).unwrap(), (20, false));
        assert_eq!(size(&a(Some(5), None), l).unwrap(), (5, false));
        assert_eq!(size(&a(None, Some(100)), l).unwrap(), (100, true));
        for bad in [
            a(Some(0), None),
            a(Some(101), None),
            a(None, Some(-1)),
            a(Some(1), Some(1)),
        ] {
            assert_eq!(size(&bad, l).unwrap_err().code(), "BAD_USER_INPUT");
        }
    }

    #[test]
    fn a_page_s_limit_is_written_into_its_statement() {
        use entity::opportunity::{Column, Entity};
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let q = Entity::find()
                .filter(Column::Id.gt(7))
                .order_by_asc(Column::Id)
                .limit(51);
            let s = literal_limit(q.build(backend), 51);
            assert!(s.sql.ends_with(" LIMIT 51"), "{backend:?}: {}", s.sql);
            assert_eq!(s.values.unwrap().0, vec![Value::from(7)], "{backend:?}");
            // Another limit than the one bound, or none: left as it is.
            let q = Entity::find().limit(10);
            let s = literal_limit(q.build(backend), 11);
            assert!(!s.sql.ends_with(" LIMIT 11"), "{}", s.sql);
            assert_eq!(s.values.unwrap().0.len(), 1);
        }
    }

    #[test]
    fn cursors_round_trip_and_bind_to_their_ordering() {
        let c = encode_cursor("NAME_ASC", SortKey::Text("Acme".into()), 3);
        assert_eq!(
            decode_cursor("after", "NAME_ASC", &c).unwrap(),
            (SortKey::Text("Acme".into()), 3)
        );
        assert!(decode_cursor("after", "AMOUNT_ASC", &c).is_err());
        assert!(decode_cursor("after", "NAME_ASC", "garbage").is_err());
    }
}

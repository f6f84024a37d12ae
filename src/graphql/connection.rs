//! Relay cursor connections: `edges`, `nodes`, `pageInfo` and a lazily counted `totalCount`.

use std::sync::Arc;

use async_graphql::SimpleObject;
use futures_util::future::BoxFuture;
use sea_orm::{DatabaseConnection, EntityTrait, Select};

use crate::db::page::{Count, Page, PageArgs};
use crate::error::AppResult;

/// Where a page sits in its list.
#[derive(SimpleObject, Clone, Debug)]
pub struct PageInfo {
    /// True when more items follow this page (fetch them with `first` and `after: endCursor`).
    pub has_next_page: bool,
    /// True when items precede this page (fetch them with `last` and `before: startCursor`).
    pub has_previous_page: bool,
    /// Cursor of the first item of this page; null when the page is empty.
    pub start_cursor: Option<String>,
    /// Cursor of the last item of this page; null when the page is empty.
    pub end_cursor: Option<String>,
}

impl PageInfo {
    pub fn of<T>(page: &Page<T>) -> Self {
        Self {
            has_next_page: page.has_next,
            has_previous_page: page.has_previous,
            start_cursor: page.start_cursor(),
            end_cursor: page.end_cursor(),
        }
    }
}

/// Counts the rows of a filtered, scoped query only when `totalCount` is asked for.
#[derive(Clone)]
pub struct TotalCount(Arc<dyn Fn() -> BoxFuture<'static, AppResult<u64>> + Send + Sync>);

impl TotalCount {
    pub fn of<E: EntityTrait>(db: &DatabaseConnection, select: Select<E>) -> Self
    where
        E::Model: Sync,
    {
        Self::counting(db, Count::Rows(select))
    }

    /// The count a list's read planned ([`Count`]).
    pub fn counting<E: EntityTrait>(db: &DatabaseConnection, count: Count<E>) -> Self
    where
        E::Model: Sync,
    {
        let db = db.clone();
        Self(Arc::new(move || {
            let (db, count) = (db.clone(), count.clone());
            Box::pin(async move { count.get(&db).await })
        }))
    }

    /// A count made by `count` (a narrower statement than counting the list's own query).
    pub fn by<F>(count: F) -> Self
    where
        F: Fn() -> BoxFuture<'static, AppResult<u64>> + Send + Sync + 'static,
    {
        Self(Arc::new(count))
    }

    pub async fn get(&self) -> AppResult<u64> {
        (self.0)().await
    }
}

/// Complexity of a connection field: its children count once per requested item.
pub fn cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let n = first.or(last).unwrap_or(20).clamp(1, 100) as usize;
    1 + n * child
}

pub fn page_args(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> PageArgs {
    PageArgs {
        first,
        after,
        last,
        before,
    }
}

/// Declares `<Name>Connection` and `<Name>Edge` for an object type built `From` a model.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $model:ty) => {
        /// One page of a list, with cursors for the next and previous pages.
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub page_info: $crate::graphql::connection::PageInfo,
            pub total: $crate::graphql::connection::TotalCount,
        }

        impl $conn {
            pub fn new(
                page: $crate::db::page::Page<$model>,
                total: $crate::graphql::connection::TotalCount,
            ) -> Self {
                let page_info = $crate::graphql::connection::PageInfo::of(&page);
                let edges = page
                    .items
                    .into_iter()
                    .map(|(cursor, m)| $edge {
                        cursor,
                        node: <$node>::from(m),
                    })
                    .collect();
                Self {
                    edges,
                    page_info,
                    total,
                }
            }
        }

        /// One page of a list, with cursors for the next and previous pages.
        #[async_graphql::Object]
        impl $conn {
            /// The items of this page with their cursors.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }

            /// The items of this page, without cursors.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }

            /// Cursors and whether more pages exist.
            async fn page_info(&self) -> &$crate::graphql::connection::PageInfo {
                &self.page_info
            }

            /// How many items match the filters in all pages (only the ones you may see).
            async fn total_count(&self) -> async_graphql::Result<u64> {
                Ok(self.total.get().await?)
            }
        }

        /// An item in a page, with the cursor that points at it.
        #[derive(async_graphql::SimpleObject)]
        pub struct $edge {
            /// Opaque cursor of this item, for `after` or `before`.
            pub cursor: String,
            /// The item.
            pub node: $node,
        }
    };
}

pub(crate) use connection;

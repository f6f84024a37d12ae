//! Customer accounts in the GraphQL schema.

use async_graphql::{Context, Object, Result, ID};

use super::contact::ContactConnection;
use crate::db::{contacts, page};
use entity::account::Model;

use super::connection::{self, connection, TotalCount};
use super::inputs::account::{AccountFilter, AccountOrder, CreateAccountInput, UpdateAccountInput};
use super::{db, page_limits, principal};
use crate::db::accounts as data;
use crate::ids::{self, Kind};
use crate::scalars::DateTime;

/// A customer company. Its normalised web domain is unique and keys duplicate detection.
///
/// The row is shared with the request's loaders, not copied for each place it answers.
#[derive(Clone)]
pub struct Account(pub std::sync::Arc<Model>);

impl From<Model> for Account {
    fn from(m: Model) -> Self {
        Self(std::sync::Arc::new(m))
    }
}

impl From<std::sync::Arc<Model>> for Account {
    fn from(m: std::sync::Arc<Model>) -> Self {
        Self(m)
    }
}

/// A customer company. Its normalised web domain is unique and keys duplicate detection.
#[Object]
impl Account {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Account, self.0.id).into()
    }
    /// Company name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Normalised web domain: lower case, no scheme, no `www.`.
    async fn domain(&self) -> &str {
        &self.0.domain
    }
    /// Industry label.
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    /// Sales region label.
    async fn region(&self) -> Option<&str> {
        self.0.region.as_deref()
    }
    /// The contacts at the account you may see, oldest first, page by page: every contact for
    /// the vendor; for a partner those it sourced and those shared with the parties on the
    /// account's deals. The cursors are those of `contacts(filter: { accountId })`. First pages
    /// of a list of accounts are read together; paging with a cursor reads one account.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<ContactConnection> {
        let args = connection::page_args(first, after, last, before);
        if args.after.is_none() && args.before.is_none() && args.last.is_none() {
            let (n, _) = page::size(&args, page_limits(ctx))?;
            let (rows, total) = super::loaders(ctx)
                .account_contact_pages
                .load_one((self.0.id, n))
                .await?
                .unwrap_or_default();
            let page = page::first_by_id(rows, n, contacts::ORDERING, |m| m.id);
            let total = TotalCount::by(move || Box::pin(std::future::ready(Ok(total))));
            return Ok(ContactConnection::new(page, total));
        }
        let filter = contacts::ContactFilter {
            account_id: Some(ids::encode(Kind::Account, self.0.id)),
            ..Default::default()
        };
        let (page, count) =
            contacts::list(db(ctx), principal(ctx), filter, &args, page_limits(ctx)).await?;
        Ok(ContactConnection::new(
            page,
            TotalCount::counting(db(ctx), count),
        ))
    }
    /// Optimistic-concurrency version; pass it as `expectedVersion` when changing the account.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the account was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When the account was last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

connection!(AccountConnection, AccountEdge, Account, Model);

/// The result of an account change.
#[derive(async_graphql::SimpleObject)]
pub struct AccountPayload {
    /// The account as it is after the change.
    pub account: Account,
}

#[derive(Default)]
pub struct AccountQuery;

#[Object]
impl AccountQuery {
    /// Customer accounts you may see: all of them for the vendor.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only accounts matching all of these filters.")] filter: Option<
            AccountFilter,
        >,
        #[graphql(desc = "Sort order; NAME_ASC by default.")] order_by: Option<AccountOrder>,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<AccountConnection> {
        let args = connection::page_args(first, after, last, before);
        let (page, q) = data::list(
            db(ctx),
            principal(ctx),
            filter.map(Into::into).unwrap_or_default(),
            order_by.map(Into::into).unwrap_or_default(),
            &args,
            page_limits(ctx),
        )
        .await?;
        Ok(AccountConnection::new(page, TotalCount::of(db(ctx), q)))
    }

    /// One account by ID. An unknown ID and one you may not see both answer NOT_FOUND.
    async fn account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The account's ID.")] id: ID,
    ) -> Result<Account> {
        let id = ids::decode_field(&id, Kind::Account, "id")?;
        Ok(data::get(db(ctx), principal(ctx), id).await?.into())
    }
}

#[derive(Default)]
pub struct AccountMutation;

#[Object]
impl AccountMutation {
    /// Creates a customer account (any vendor role). A second account with the same
    /// normalised domain is refused with CONFLICT.
    async fn create_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The new account.")] input: CreateAccountInput,
    ) -> Result<AccountPayload> {
        let (db, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let m = crate::graphql::write(
            ctx,
            async move { data::create(&db, &p, input.into()).await },
        )
        .await?;
        Ok(AccountPayload { account: m.into() })
    }

    /// Changes an account (any vendor role).
    async fn update_account(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to change.")] input: UpdateAccountInput,
    ) -> Result<AccountPayload> {
        let (db, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let m = crate::graphql::write(
            ctx,
            async move { data::update(&db, &p, input.into()).await },
        )
        .await?;
        Ok(AccountPayload { account: m.into() })
    }
}

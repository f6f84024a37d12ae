//! Per-request DataLoaders. They are created for each request with its principal, so a cached
//! row can never reach another caller, and every batch goes through the scoped data access.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use entity::enums::RegistrationRole;
use entity::{
    account, conflict, contact, engagement, opportunity, partner, registration,
    registration_transition,
};
use sea_orm::DatabaseConnection;

use crate::auth::Principal;
use crate::db;
use crate::db::contacts::network::ThreadingWindow;
use crate::domain::threading::{Assessment, Summary};

pub struct Scoped {
    db: DatabaseConnection,
    principal: Principal,
}

/// A loader whose rows stay for the rest of the request: a page's children are loaded once,
/// ahead of their resolvers (see `prefetch`), and each resolver then reads them from here.
pub type Cached<T> = DataLoader<T, HashMapCache>;

pub struct Loaders {
    pub partners: Cached<PartnerLoader>,
    pub accounts: Cached<AccountLoader>,
    pub opportunities: Cached<OpportunityLoader>,
    pub stage_history: Cached<StageHistoryLoader>,
    pub registrations: Cached<RegistrationLoader>,
    pub registration_texts: Cached<RegistrationTextsLoader>,
    pub registration_history: Cached<RegistrationHistoryLoader>,
    pub registration_conflicts: Cached<RegistrationConflictsLoader>,
    pub opportunity_registrations: Cached<OpportunityRegistrationsLoader>,
    /// A deal's registrations with their summary columns only (see
    /// `db::registrations::load_summaries_by_opportunity`).
    pub opportunity_registration_summaries: Cached<OpportunityRegistrationSummariesLoader>,
    pub roles_filled: Cached<RolesFilledLoader>,
    pub contacts: Cached<ContactLoader>,
    pub account_contact_pages: DataLoader<AccountContactPagesLoader, HashMapCache>,
    pub contact_engagements: Cached<ContactEngagementsLoader>,
    /// Each deal's threading assessment as every reader shares it (kept rows).
    pub threading: Cached<ThreadingLoader>,
    /// Each deal's assessment as the caller reads it, evidence included (computed afresh).
    pub threading_details: Cached<ThreadingDetailsLoader>,
    pub attribution: Cached<AttributionLoader>,
    cached: bool,
}

impl Loaders {
    /// Loaders for one request of `principal`. `cached`: rows stay for the whole request (a
    /// query); a mutation reads every row afresh, since its own writes change them between
    /// root fields.
    pub fn new(
        db: &DatabaseConnection,
        principal: &Principal,
        window: ThreadingWindow,
        cached: bool,
    ) -> Self {
        let s = || Scoped {
            db: db.clone(),
            principal: principal.clone(),
        };
        fn dl<T: Loader<i64>>(loader: T, cached: bool) -> Cached<T> {
            let dl = DataLoader::with_cache(loader, tokio::spawn, HashMapCache::default());
            dl.enable_all_cache(cached);
            dl
        }
        Self {
            partners: dl(PartnerLoader(s()), cached),
            accounts: dl(AccountLoader(s()), cached),
            opportunities: dl(OpportunityLoader(s()), cached),
            stage_history: dl(StageHistoryLoader(s()), cached),
            registrations: dl(RegistrationLoader(s()), cached),
            registration_texts: dl(RegistrationTextsLoader(s()), cached),
            registration_history: dl(RegistrationHistoryLoader(s()), cached),
            registration_conflicts: dl(RegistrationConflictsLoader(s()), cached),
            opportunity_registrations: dl(OpportunityRegistrationsLoader(s()), cached),
            opportunity_registration_summaries: dl(
                OpportunityRegistrationSummariesLoader(s()),
                cached,
            ),
            roles_filled: dl(RolesFilledLoader(s()), cached),
            contacts: dl(ContactLoader(s()), cached),
            account_contact_pages: {
                let dl = DataLoader::with_cache(
                    AccountContactPagesLoader(s()),
                    tokio::spawn,
                    HashMapCache::default(),
                );
                dl.enable_all_cache(cached);
                dl
            },
            contact_engagements: dl(ContactEngagementsLoader(s()), cached),
            threading: dl(ThreadingLoader(s(), window), cached),
            threading_details: dl(ThreadingDetailsLoader(s(), window), cached),
            attribution: dl(AttributionLoader(s()), cached),
            cached,
        }
    }

    /// Whether rows stay for the request, so that loading them ahead of their resolvers pays.
    pub fn cached(&self) -> bool {
        self.cached
    }
}

/// Loads `keys` through `dl`'s loader in one statement now, with no batching delay, and keeps
/// the rows for the resolvers that ask for them next. Returns what was found.
pub async fn prime<T>(dl: &Cached<T>, keys: &[i64]) -> async_graphql::Result<HashMap<i64, T::Value>>
where
    T: Loader<i64, Error = async_graphql::Error>,
{
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let found = dl.loader().load(&keys).await?;
    dl.feed_many(found.clone()).await;
    Ok(found)
}

/// [`prime`] for loaders of lists by parent: a parent with no rows keeps an empty list, so
/// asking for it later reads nothing either.
pub async fn prime_lists<T>(
    dl: &Cached<T>,
    keys: &[i64],
) -> async_graphql::Result<HashMap<i64, T::Value>>
where
    T: Loader<i64, Error = async_graphql::Error>,
    T::Value: Default,
{
    let found = prime(dl, keys).await?;
    Ok(keep_lists(dl, keys, found).await)
}

/// Keeps `found`, the lists of `keys` read by another statement, in `dl` for the rest of the
/// request as [`prime_lists`] does (a key not in `found` keeps an empty list).
pub async fn keep_lists<T>(
    dl: &Cached<T>,
    keys: &[i64],
    mut found: HashMap<i64, T::Value>,
) -> HashMap<i64, T::Value>
where
    T: Loader<i64, Error = async_graphql::Error>,
    T::Value: Default,
{
    for k in keys {
        found.entry(*k).or_default();
    }
    dl.feed_many(found.clone()).await;
    found
}

macro_rules! scoped_loader {
    // Rows shared (`Arc`) between the loader's cache and every object that answers with them:
    // a page's partners and accounts answer once per claim or deal.
    ($name:ident, shared $value:ty, $load:path) => {
        pub struct $name(Scoped);

        impl Loader<i64> for $name {
            type Value = Arc<$value>;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let found = $load(&self.0.db, &self.0.principal, keys).await?;
                Ok(found.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
            }
        }
    };
    // Lists of rows by parent, each row shared likewise.
    ($name:ident, shared lists $value:ty, $load:path) => {
        pub struct $name(Scoped);

        impl Loader<i64> for $name {
            type Value = Vec<Arc<$value>>;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                let found = $load(&self.0.db, &self.0.principal, keys).await?;
                Ok(found
                    .into_iter()
                    .map(|(k, rows)| (k, rows.into_iter().map(Arc::new).collect()))
                    .collect())
            }
        }
    };
    ($name:ident, $value:ty, $load:path) => {
        pub struct $name(Scoped);

        impl Loader<i64> for $name {
            type Value = $value;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
                Ok($load(&self.0.db, &self.0.principal, keys).await?)
            }
        }
    };
}

scoped_loader!(PartnerLoader, shared partner::Model, db::partners::load);
scoped_loader!(AccountLoader, shared account::Model, db::accounts::load);
scoped_loader!(
    OpportunityLoader,
    opportunity::Model,
    db::opportunities::load
);
scoped_loader!(
    StageHistoryLoader,
    Vec<db::opportunities::StageChange>,
    db::opportunities::load_history
);
scoped_loader!(
    RegistrationLoader,
    registration::Model,
    db::registrations::load
);
scoped_loader!(
    RegistrationTextsLoader,
    db::registrations::Texts,
    db::registrations::load_texts
);
scoped_loader!(
    RegistrationHistoryLoader,
    Vec<registration_transition::Model>,
    db::registrations::load_history
);
scoped_loader!(
    RegistrationConflictsLoader,
    Vec<conflict::Model>,
    db::registrations::conflicts::load_by_registration
);
scoped_loader!(
    OpportunityRegistrationSummariesLoader,
    shared lists registration::Model,
    db::registrations::load_summaries_by_opportunity
);
scoped_loader!(
    OpportunityRegistrationsLoader,
    shared lists registration::Model,
    db::registrations::load_by_opportunity
);
scoped_loader!(
    RolesFilledLoader,
    Vec<RegistrationRole>,
    db::registrations::load_roles_filled
);
scoped_loader!(ContactLoader, contact::Model, db::contacts::load);

/// The first page of each account's contacts, keyed by account and page size, with the
/// account's count: one statement per page size in a batch (a query asks one size).
pub struct AccountContactPagesLoader(Scoped);

impl Loader<(i64, u64)> for AccountContactPagesLoader {
    type Value = (Vec<contact::Model>, u64);
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[(i64, u64)],
    ) -> Result<HashMap<(i64, u64), Self::Value>, Self::Error> {
        let mut by_size: std::collections::BTreeMap<u64, Vec<i64>> = Default::default();
        for (account, n) in keys {
            by_size.entry(*n).or_default().push(*account);
        }
        let mut out = HashMap::new();
        for (n, accounts) in by_size {
            let mut found =
                db::contacts::first_by_account(&self.0.db, &self.0.principal, &accounts, n).await?;
            for a in accounts {
                out.insert((a, n), found.remove(&a).unwrap_or_default());
            }
        }
        Ok(out)
    }
}
scoped_loader!(
    ContactEngagementsLoader,
    Vec<engagement::Model>,
    db::contacts::engagements::load_by_contact
);

/// The shared part of opportunities' threading assessments, read from the kept rows in one
/// statement per request level.
pub struct ThreadingLoader(Scoped, ThreadingWindow);

impl Loader<i64> for ThreadingLoader {
    type Value = Summary;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(db::contacts::network::summaries(&self.0.db, &self.0.principal, keys, self.1).await?)
    }
}

impl ThreadingLoader {
    /// The summaries of deals `ids` from their kept `rows`, read with a page of those deals
    /// (`db::opportunities::Joins::threading`); deals whose row does not hold are assessed
    /// afresh, as [`Loader::load`] does.
    pub async fn from_kept(
        &self,
        ids: &[i64],
        rows: Vec<entity::threading_assessment::Model>,
    ) -> Result<HashMap<i64, Summary>, async_graphql::Error> {
        Ok(db::contacts::network::summaries_of_kept(
            &self.0.db,
            &self.0.principal,
            ids,
            rows,
            self.1,
        )
        .await?)
    }
}

/// Threading assessments of opportunities as the caller reads them, computed in one batch per
/// request level: only for the fields that name contacts or list departments.
pub struct ThreadingDetailsLoader(Scoped, ThreadingWindow);

impl Loader<i64> for ThreadingDetailsLoader {
    type Value = Assessment;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(
            db::contacts::network::assess_opportunities(
                &self.0.db,
                &self.0.principal,
                keys,
                self.1,
            )
            .await?,
        )
    }
}
scoped_loader!(
    AttributionLoader,
    db::attribution::Split,
    db::attribution::splits
);

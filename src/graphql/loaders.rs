//! Per-request DataLoaders. They are created for each request with its principal, so a cached
//! row can never reach another caller, and every batch goes through the scoped data access.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{account, opportunity, opportunity_stage_change, partner};
use sea_orm::DatabaseConnection;

use crate::auth::Principal;
use crate::db;

pub struct Scoped {
    db: DatabaseConnection,
    principal: Principal,
}

pub struct Loaders {
    pub partners: DataLoader<PartnerLoader>,
    pub accounts: DataLoader<AccountLoader>,
    pub opportunities: DataLoader<OpportunityLoader>,
    pub stage_history: DataLoader<StageHistoryLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        let s = || Scoped {
            db: db.clone(),
            principal: principal.clone(),
        };
        Self {
            partners: DataLoader::new(PartnerLoader(s()), tokio::spawn),
            accounts: DataLoader::new(AccountLoader(s()), tokio::spawn),
            opportunities: DataLoader::new(OpportunityLoader(s()), tokio::spawn),
            stage_history: DataLoader::new(StageHistoryLoader(s()), tokio::spawn),
        }
    }
}

macro_rules! scoped_loader {
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

scoped_loader!(PartnerLoader, partner::Model, db::partners::load);
scoped_loader!(AccountLoader, account::Model, db::accounts::load);
scoped_loader!(
    OpportunityLoader,
    opportunity::Model,
    db::opportunities::load
);
scoped_loader!(
    StageHistoryLoader,
    Vec<opportunity_stage_change::Model>,
    db::opportunities::load_history
);

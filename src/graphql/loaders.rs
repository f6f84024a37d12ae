//! Per-request DataLoaders. They are created for each request with its principal, so a cached
//! row can never reach another caller, and every batch goes through the scoped data access.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::enums::RegistrationRole;
use entity::{
    account, conflict, contact, engagement, opportunity, partner, registration,
    registration_transition,
};
use sea_orm::DatabaseConnection;

use crate::auth::Principal;
use crate::db;
use crate::db::contacts::network::ThreadingWindow;
use crate::domain::threading::Assessment;

pub struct Scoped {
    db: DatabaseConnection,
    principal: Principal,
}

pub struct Loaders {
    pub partners: DataLoader<PartnerLoader>,
    pub accounts: DataLoader<AccountLoader>,
    pub opportunities: DataLoader<OpportunityLoader>,
    pub stage_history: DataLoader<StageHistoryLoader>,
    pub registrations: DataLoader<RegistrationLoader>,
    pub registration_history: DataLoader<RegistrationHistoryLoader>,
    pub registration_conflicts: DataLoader<RegistrationConflictsLoader>,
    pub opportunity_registrations: DataLoader<OpportunityRegistrationsLoader>,
    pub roles_filled: DataLoader<RolesFilledLoader>,
    pub contacts: DataLoader<ContactLoader>,
    pub account_contacts: DataLoader<AccountContactsLoader>,
    pub contact_engagements: DataLoader<ContactEngagementsLoader>,
    pub threading: DataLoader<ThreadingLoader>,
    pub attribution: DataLoader<AttributionLoader>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, principal: &Principal, window: ThreadingWindow) -> Self {
        let s = || Scoped {
            db: db.clone(),
            principal: principal.clone(),
        };
        Self {
            partners: DataLoader::new(PartnerLoader(s()), tokio::spawn),
            accounts: DataLoader::new(AccountLoader(s()), tokio::spawn),
            opportunities: DataLoader::new(OpportunityLoader(s()), tokio::spawn),
            stage_history: DataLoader::new(StageHistoryLoader(s()), tokio::spawn),
            registrations: DataLoader::new(RegistrationLoader(s()), tokio::spawn),
            registration_history: DataLoader::new(RegistrationHistoryLoader(s()), tokio::spawn),
            registration_conflicts: DataLoader::new(RegistrationConflictsLoader(s()), tokio::spawn),
            opportunity_registrations: DataLoader::new(
                OpportunityRegistrationsLoader(s()),
                tokio::spawn,
            ),
            roles_filled: DataLoader::new(RolesFilledLoader(s()), tokio::spawn),
            contacts: DataLoader::new(ContactLoader(s()), tokio::spawn),
            account_contacts: DataLoader::new(AccountContactsLoader(s()), tokio::spawn),
            contact_engagements: DataLoader::new(ContactEngagementsLoader(s()), tokio::spawn),
            threading: DataLoader::new(ThreadingLoader(s(), window), tokio::spawn),
            attribution: DataLoader::new(AttributionLoader(s()), tokio::spawn),
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
    Vec<db::opportunities::StageChange>,
    db::opportunities::load_history
);
scoped_loader!(
    RegistrationLoader,
    registration::Model,
    db::registrations::load
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
    OpportunityRegistrationsLoader,
    Vec<registration::Model>,
    db::registrations::load_by_opportunity
);
scoped_loader!(
    RolesFilledLoader,
    Vec<RegistrationRole>,
    db::registrations::load_roles_filled
);
scoped_loader!(ContactLoader, contact::Model, db::contacts::load);
scoped_loader!(
    AccountContactsLoader,
    Vec<contact::Model>,
    db::contacts::load_by_account
);
scoped_loader!(
    ContactEngagementsLoader,
    Vec<engagement::Model>,
    db::contacts::engagements::load_by_contact
);

/// Threading assessments of opportunities, computed in one batch per request level.
pub struct ThreadingLoader(Scoped, ThreadingWindow);

impl Loader<i64> for ThreadingLoader {
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

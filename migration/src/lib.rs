//! cosell's schema migrations. Each file makes one change with explicit DDL, so an old
//! migration never changes when an entity does. They run at start-up and by `cosell migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_create_partners;
mod m20261122_000002_create_accounts;
mod m20261122_000003_create_opportunities;
mod m20261122_000004_create_opportunity_stage_changes;
mod m20261122_000005_create_events;
mod m20261123_000006_create_collaboration_rules;
mod m20261123_000007_create_registrations;
mod m20261123_000008_create_registration_transitions;
mod m20261123_000009_create_conflicts;
mod m20261123_000010_create_contacts;
mod m20261123_000011_create_contact_links;
mod m20261123_000012_create_engagements;
mod m20261123_000013_create_threading_scores;
mod m20261123_000014_create_attribution;
mod m20261123_000015_notify_events;
mod m20261123_000016_create_event_retention;
mod m20261124_000017_add_registration_idempotency_fingerprint;
mod m20261124_000018_create_event_queue;
mod m20261124_000019_create_account_name_keys;
mod m20261201_000020_drop_event_queue_notify;
mod m20261202_000021_contact_email_per_owner;
mod m20261202_000022_create_event_audiences;
mod m20261202_000023_index_registrations_by_partner_deal;
mod m20261202_000024_create_opportunity_tally;
mod m20261202_000025_ascii_domains;
mod m20261203_000026_index_contacts_by_source;
mod m20261203_000027_index_contacts_by_update;
mod m20261203_000028_create_persisted_queries;
mod m20261203_000029_create_webhooks;
mod m20261204_000030_create_invitations;
mod m20261207_000031_add_transition_actor_party;
mod m20261207_000032_type_webhook_owner;
mod m20261207_000033_keep_threading_assessments;
mod m20261207_000034_index_queue_contacts_search;
pub mod m20261207_000035_keep_decision_times;
mod m20261208_000036_keep_contact_tally;
mod m20261208_000037_keep_opportunity_names;
mod m20261208_000038_keep_partner_shared_contacts;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_create_partners::Migration),
            Box::new(m20261122_000002_create_accounts::Migration),
            Box::new(m20261122_000003_create_opportunities::Migration),
            Box::new(m20261122_000004_create_opportunity_stage_changes::Migration),
            Box::new(m20261122_000005_create_events::Migration),
            Box::new(m20261123_000006_create_collaboration_rules::Migration),
            Box::new(m20261123_000007_create_registrations::Migration),
            Box::new(m20261123_000008_create_registration_transitions::Migration),
            Box::new(m20261123_000009_create_conflicts::Migration),
            Box::new(m20261123_000010_create_contacts::Migration),
            Box::new(m20261123_000011_create_contact_links::Migration),
            Box::new(m20261123_000012_create_engagements::Migration),
            Box::new(m20261123_000013_create_threading_scores::Migration),
            Box::new(m20261123_000014_create_attribution::Migration),
            Box::new(m20261123_000015_notify_events::Migration),
            Box::new(m20261123_000016_create_event_retention::Migration),
            Box::new(m20261124_000017_add_registration_idempotency_fingerprint::Migration),
            Box::new(m20261124_000018_create_event_queue::Migration),
            Box::new(m20261124_000019_create_account_name_keys::Migration),
            Box::new(m20261201_000020_drop_event_queue_notify::Migration),
            Box::new(m20261202_000021_contact_email_per_owner::Migration),
            Box::new(m20261202_000022_create_event_audiences::Migration),
            Box::new(m20261202_000023_index_registrations_by_partner_deal::Migration),
            Box::new(m20261202_000024_create_opportunity_tally::Migration),
            Box::new(m20261202_000025_ascii_domains::Migration),
            Box::new(m20261203_000026_index_contacts_by_source::Migration),
            Box::new(m20261203_000027_index_contacts_by_update::Migration),
            Box::new(m20261203_000028_create_persisted_queries::Migration),
            Box::new(m20261203_000029_create_webhooks::Migration),
            Box::new(m20261204_000030_create_invitations::Migration),
            Box::new(m20261207_000031_add_transition_actor_party::Migration),
            Box::new(m20261207_000032_type_webhook_owner::Migration),
            Box::new(m20261207_000033_keep_threading_assessments::Migration),
            Box::new(m20261207_000034_index_queue_contacts_search::Migration),
            Box::new(m20261207_000035_keep_decision_times::Migration),
            Box::new(m20261208_000036_keep_contact_tally::Migration),
            Box::new(m20261208_000037_keep_opportunity_names::Migration),
            Box::new(m20261208_000038_keep_partner_shared_contacts::Migration),
        ]
    }
}

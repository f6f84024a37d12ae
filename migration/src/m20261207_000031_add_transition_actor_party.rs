//! Whose person made each registration transition and resolved each conflict:
//! `registration_transitions.actor_partner_id` and `conflicts.resolved_by_partner_id` are the
//! partner whose user (or app) acted, NULL for the vendor's people and automatic steps. Readers
//! are shown the vendor's people by party, never by subject (`auth::actor`), so the party is
//! recorded with the subject. Existing rows: a partner made the creation, submissions and
//! withdrawals of its own claims, and a withdrawal closed the claim's conflicts without a
//! resolution; the vendor did everything else.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(
            "ALTER TABLE registration_transitions ADD COLUMN actor_partner_id BIGINT NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE registration_transitions SET actor_partner_id = (
               SELECT r.partner_id FROM registrations r
               WHERE r.id = registration_transitions.registration_id)
             WHERE to_status IN ('DRAFT', 'SUBMITTED', 'WITHDRAWN')
               AND actor NOT LIKE 'policy:%' AND actor NOT LIKE 'system:%'",
        )
        .await?;
        db.execute_unprepared(
            "ALTER TABLE conflicts ADD COLUMN resolved_by_partner_id BIGINT NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE conflicts SET resolved_by_partner_id = (
               SELECT r.partner_id FROM registrations r WHERE r.id = conflicts.registration_id)
             WHERE status = 'RESOLVED' AND resolution IS NULL
               AND resolved_by NOT LIKE 'policy:%' AND resolved_by NOT LIKE 'system:%'",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared("ALTER TABLE registration_transitions DROP COLUMN actor_partner_id")
            .await?;
        db.execute_unprepared("ALTER TABLE conflicts DROP COLUMN resolved_by_partner_id")
            .await?;
        Ok(())
    }
}

//! Threading assessments kept as data: each opportunity's assessment as every reader shares it
//! (score, kinds of risk, coverage), with the opportunity's stage and amount beside it, so the
//! risk report is an index walk and a page of deals reads its assessments in one statement.
//! Triggers keep the stage and amount equal to the opportunity's; the server fills the
//! assessments (of deals from before this table existed too) and keeps them current. Replaces
//! `threading_scores`, which kept the score alone.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

use ThreadingAssessments as T;

#[derive(DeriveIden)]
enum ThreadingAssessments {
    Table,
    OpportunityId,
    AccountId,
    Stage,
    IsOpen,
    AmountMinor,
    Score,
    Risks,
    EngagedContacts,
    BuyingRoles,
    Parties,
    LastEngagedOn,
    WindowDays,
    AssessedOn,
    ValidUntil,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let pg = manager.get_database_backend() == DbBackend::Postgres;
        db.execute_unprepared("DROP TABLE threading_scores").await?;
        let col = |c: T| ColumnDef::new(c).not_null().to_owned();
        manager
            .create_table(
                Table::create()
                    .table(T::Table)
                    .col(col(T::OpportunityId).big_integer().primary_key())
                    .col(col(T::AccountId).big_integer())
                    .col(col(T::Stage).string())
                    .col(col(T::IsOpen).boolean())
                    .col(col(T::AmountMinor).big_integer())
                    .col(col(T::Score).integer())
                    .col(col(T::Risks).integer())
                    .col(col(T::EngagedContacts).integer())
                    .col(col(T::BuyingRoles).string())
                    .col(col(T::Parties).string())
                    .col(ColumnDef::new(T::LastEngagedOn).date())
                    .col(col(T::WindowDays).integer())
                    .col(col(T::AssessedOn).date())
                    .col(col(T::ValidUntil).date())
                    .col(col(T::UpdatedAt).timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        for sql in [
            // The risk report: open deals, largest first, with what it filters on, so the walk
            // reads the index alone.
            "CREATE INDEX threading_assessments_open_by_amount
             ON threading_assessments (amount_minor DESC, opportunity_id, score, risks, stage,
               window_days, assessed_on, valid_until) WHERE is_open",
            // Re-assessing an account's deals after a change.
            "CREATE INDEX threading_assessments_by_account ON threading_assessments (account_id)",
            // The sweep: assessments due on a day.
            "CREATE INDEX threading_assessments_by_valid_until
             ON threading_assessments (valid_until)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        let follow = "UPDATE threading_assessments
             SET stage = NEW.stage,
                 is_open = NEW.stage NOT IN ('CLOSED_WON', 'CLOSED_LOST'),
                 amount_minor = NEW.amount_minor
             WHERE opportunity_id = NEW.id";
        if pg {
            db.execute_unprepared(&format!(
                "CREATE FUNCTION threading_assessment_follows() RETURNS trigger AS $$
                 BEGIN {follow}; RETURN NULL; END $$ LANGUAGE plpgsql"
            ))
            .await?;
            db.execute_unprepared(
                "CREATE TRIGGER threading_assessment_follows
                 AFTER UPDATE OF stage, amount_minor ON opportunities
                 FOR EACH ROW
                 WHEN (OLD.stage IS DISTINCT FROM NEW.stage
                       OR OLD.amount_minor IS DISTINCT FROM NEW.amount_minor)
                 EXECUTE FUNCTION threading_assessment_follows()",
            )
            .await?;
        } else {
            db.execute_unprepared(&format!(
                "CREATE TRIGGER threading_assessment_follows
                 AFTER UPDATE OF stage, amount_minor ON opportunities
                 WHEN OLD.stage IS NOT NEW.stage OR OLD.amount_minor IS NOT NEW.amount_minor
                 BEGIN {follow}; END"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(
                "DROP TRIGGER threading_assessment_follows ON opportunities;
                 DROP FUNCTION threading_assessment_follows()",
            )
            .await?;
        } else {
            db.execute_unprepared("DROP TRIGGER threading_assessment_follows")
                .await?;
        }
        db.execute_unprepared("DROP TABLE threading_assessments")
            .await?;
        let ts = if manager.get_database_backend() == DbBackend::Postgres {
            "TIMESTAMPTZ"
        } else {
            "TIMESTAMP"
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE threading_scores (
               opportunity_id BIGINT NOT NULL PRIMARY KEY,
               score INTEGER NOT NULL,
               updated_at {ts} NOT NULL
             )"
        ))
        .await?;
        Ok(())
    }
}

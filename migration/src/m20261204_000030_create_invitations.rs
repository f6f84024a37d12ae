//! Engagement invitations: the vendor asks partners to join a deal in a role.
//!
//! One OPEN invitation per partner and opportunity (a partial unique index); the partner's
//! list reads its own rows by `(partner_id, id)`, the vendor's by id, and the expiry sweep the
//! OPEN rows by `expires_at`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OpportunityId,
    PartnerId,
    Role,
    Status,
    Message,
    Shared,
    ExpiresAt,
    InvitedBy,
    DeclineReason,
    RegistrationId,
    ClosedAt,
    IdempotencyKey,
    IdempotencyFingerprint,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Opportunities {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Partners {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Invitations as I;
        let at = |c: I| {
            ColumnDef::new(c)
                .timestamp_with_time_zone()
                .not_null()
                .to_owned()
        };
        manager
            .create_table(
                Table::create()
                    .table(I::Table)
                    .col(
                        ColumnDef::new(I::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(I::OpportunityId).big_integer().not_null())
                    .col(ColumnDef::new(I::PartnerId).big_integer().not_null())
                    .col(ColumnDef::new(I::Role).string().not_null())
                    .col(ColumnDef::new(I::Status).string().not_null())
                    .col(ColumnDef::new(I::Message).text())
                    .col(ColumnDef::new(I::Shared).json().not_null())
                    .col(at(I::ExpiresAt))
                    .col(ColumnDef::new(I::InvitedBy).string().not_null())
                    .col(ColumnDef::new(I::DeclineReason).text())
                    .col(ColumnDef::new(I::RegistrationId).big_integer())
                    .col(ColumnDef::new(I::ClosedAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(I::IdempotencyKey).string())
                    .col(ColumnDef::new(I::IdempotencyFingerprint).string())
                    .col(ColumnDef::new(I::Version).integer().not_null())
                    .col(at(I::CreatedAt))
                    .col(at(I::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_opportunity")
                            .from(I::Table, I::OpportunityId)
                            .to(Opportunities::Table, Opportunities::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_partner")
                            .from(I::Table, I::PartnerId)
                            .to(Partners::Table, Partners::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_invitations_registration")
                            .from(I::Table, I::RegistrationId)
                            .to(Registrations::Table, Registrations::Id),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        for sql in [
            // One open invitation per partner and deal.
            "CREATE UNIQUE INDEX ux_invitations_open ON invitations (opportunity_id, partner_id) WHERE status = 'OPEN'",
            // A retried request finds what its first try made (keys are each inviter's own).
            "CREATE UNIQUE INDEX ux_invitations_idempotency ON invitations (invited_by, idempotency_key, partner_id)",
            // A partner's own invitations, newest or oldest first.
            "CREATE INDEX ix_invitations_partner ON invitations (partner_id, id)",
            // A deal's invitations.
            "CREATE INDEX ix_invitations_opportunity ON invitations (opportunity_id, id)",
            // The expiry sweep and "expiring soon": open ones by when they run out.
            "CREATE INDEX ix_invitations_expiry ON invitations (status, expires_at)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Invitations::Table).to_owned())
            .await
    }
}

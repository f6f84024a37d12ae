use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Partners {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Opportunities {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Registrations {
    Table,
    Id,
    PartnerId,
    OpportunityId,
    AccountDomain,
    AccountName,
    DealName,
    AmountMinor,
    Currency,
    ExpectedCloseDate,
    Role,
    Status,
    Justification,
    PrivateNotes,
    IdempotencyKey,
    InfoRequest,
    ExtensionRequestedDays,
    ExtensionReason,
    ProtectionExpiresAt,
    SubmittedAt,
    DecidedAt,
    DecidedBy,
    DecisionReason,
    AutoApproved,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use Registrations as R;
        manager
            .create_table(
                Table::create()
                    .table(R::Table)
                    .col(
                        ColumnDef::new(R::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(R::PartnerId).big_integer().not_null())
                    .col(ColumnDef::new(R::OpportunityId).big_integer().null())
                    .col(ColumnDef::new(R::AccountDomain).string().not_null())
                    .col(ColumnDef::new(R::AccountName).string().null())
                    .col(ColumnDef::new(R::DealName).string().null())
                    .col(ColumnDef::new(R::AmountMinor).big_integer().null())
                    .col(ColumnDef::new(R::Currency).string_len(3).null())
                    .col(ColumnDef::new(R::ExpectedCloseDate).date().null())
                    .col(ColumnDef::new(R::Role).string().not_null())
                    .col(ColumnDef::new(R::Status).string().not_null())
                    .col(ColumnDef::new(R::Justification).text().not_null())
                    .col(ColumnDef::new(R::PrivateNotes).text().null())
                    .col(ColumnDef::new(R::IdempotencyKey).string().null())
                    .col(ColumnDef::new(R::InfoRequest).text().null())
                    .col(ColumnDef::new(R::ExtensionRequestedDays).integer().null())
                    .col(ColumnDef::new(R::ExtensionReason).text().null())
                    .col(
                        ColumnDef::new(R::ProtectionExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(R::SubmittedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(R::DecidedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(ColumnDef::new(R::DecidedBy).string().null())
                    .col(ColumnDef::new(R::DecisionReason).text().null())
                    .col(ColumnDef::new(R::AutoApproved).boolean().not_null())
                    .col(ColumnDef::new(R::Version).integer().not_null())
                    .col(
                        ColumnDef::new(R::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(R::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_registrations_partner")
                            .from(R::Table, R::PartnerId)
                            .to(Partners::Table, Partners::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_registrations_opportunity")
                            .from(R::Table, R::OpportunityId)
                            .to(Opportunities::Table, Opportunities::Id)
                            .on_delete(ForeignKeyAction::Restrict),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_registrations_idempotency")
                    .table(R::Table)
                    .col(R::PartnerId)
                    .col(R::IdempotencyKey)
                    .unique()
                    .to_owned(),
            )
            .await?;
        for (name, cols) in [
            (
                "ix_registrations_opportunity",
                vec![R::OpportunityId, R::Status],
            ),
            ("ix_registrations_partner", vec![R::PartnerId, R::Status]),
            ("ix_registrations_domain", vec![R::AccountDomain]),
            (
                "ix_registrations_status_submitted",
                vec![R::Status, R::SubmittedAt],
            ),
            (
                "ix_registrations_expiry",
                vec![R::Status, R::ProtectionExpiresAt],
            ),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(R::Table);
            for c in cols {
                idx.col(c);
            }
            manager.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Registrations::Table).to_owned())
            .await
    }
}

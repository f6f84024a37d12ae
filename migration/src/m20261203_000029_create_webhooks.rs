//! Webhook endpoints and their delivery log.
//!
//! An endpoint delivers, in outbox order, the events its audience (the vendor, one partner, or
//! an app's scopes) may see, each until the receiver answers 2xx. `cursor` is the last outbox
//! id it has settled (delivered, or not for it); `attempts` and `next_attempt_at` schedule the
//! retries of the event after it. An instance leases an endpoint (`locked_by`,
//! `locked_until`) while it delivers, so each attempt is made once however many instances run;
//! a lease that runs out (its instance died) lets another instance take over.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    Url,
    Description,
    Topics,
    OwnerParty,
    OwnerApp,
    DeliverKind,
    DeliverPartnerId,
    DeliverScopes,
    Status,
    DisabledReason,
    Secret,
    PreviousSecret,
    PreviousSecretExpiresAt,
    Cursor,
    Attempts,
    NextAttemptAt,
    FailingSince,
    LockedBy,
    LockedUntil,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    EndpointId,
    EventId,
    Topic,
    Attempt,
    Succeeded,
    ResponseCode,
    LatencyMs,
    Error,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use WebhookEndpoints as E;
        manager
            .create_table(
                Table::create()
                    .table(E::Table)
                    .col(
                        ColumnDef::new(E::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(E::Url).text().not_null())
                    .col(ColumnDef::new(E::Description).text().not_null())
                    .col(ColumnDef::new(E::Topics).json().not_null())
                    .col(ColumnDef::new(E::OwnerParty).string().not_null())
                    .col(ColumnDef::new(E::OwnerApp).string())
                    .col(ColumnDef::new(E::DeliverKind).string().not_null())
                    .col(ColumnDef::new(E::DeliverPartnerId).big_integer())
                    .col(ColumnDef::new(E::DeliverScopes).string())
                    .col(ColumnDef::new(E::Status).string().not_null())
                    .col(ColumnDef::new(E::DisabledReason).text())
                    .col(ColumnDef::new(E::Secret).string().not_null())
                    .col(ColumnDef::new(E::PreviousSecret).string())
                    .col(ColumnDef::new(E::PreviousSecretExpiresAt).timestamp_with_time_zone())
                    .col(ColumnDef::new(E::Cursor).big_integer().not_null())
                    .col(ColumnDef::new(E::Attempts).integer().not_null())
                    .col(
                        ColumnDef::new(E::NextAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(E::FailingSince).timestamp_with_time_zone())
                    .col(ColumnDef::new(E::LockedBy).string())
                    .col(ColumnDef::new(E::LockedUntil).timestamp_with_time_zone())
                    .col(ColumnDef::new(E::Version).integer().not_null())
                    .col(
                        ColumnDef::new(E::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(E::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The dispatcher's claim of retries that fell due: the few endpoints with failed
        // attempts, by when they are next due, without reading the idle ones.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_endpoints_retries")
                    .table(E::Table)
                    .col(E::Status)
                    .col(E::Attempts)
                    .col(E::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        // Leases an instance left to run out (it died mid-delivery), for another to take over.
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_endpoints_leases")
                    .table(E::Table)
                    .col(E::LockedUntil)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_endpoints_owner")
                    .table(E::Table)
                    .col(E::OwnerParty)
                    .col(E::Id)
                    .to_owned(),
            )
            .await?;
        use WebhookAttempts as A;
        manager
            .create_table(
                Table::create()
                    .table(A::Table)
                    .col(
                        ColumnDef::new(A::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(A::EndpointId).big_integer().not_null())
                    .col(ColumnDef::new(A::EventId).big_integer().not_null())
                    .col(ColumnDef::new(A::Topic).string().not_null())
                    .col(ColumnDef::new(A::Attempt).integer().not_null())
                    .col(ColumnDef::new(A::Succeeded).boolean().not_null())
                    .col(ColumnDef::new(A::ResponseCode).integer())
                    .col(ColumnDef::new(A::LatencyMs).integer().not_null())
                    .col(ColumnDef::new(A::Error).text())
                    .col(
                        ColumnDef::new(A::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(A::Table, A::EndpointId)
                            .to(E::Table, E::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_attempts_endpoint")
                    .table(A::Table)
                    .col(A::EndpointId)
                    .col(A::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_attempts_created")
                    .table(A::Table)
                    .col(A::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(WebhookAttempts::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(WebhookEndpoints::Table).to_owned())
            .await
    }
}

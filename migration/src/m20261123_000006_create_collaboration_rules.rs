use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CollaborationRules {
    Table,
    Role,
    Exclusive,
    ProtectionDays,
    AttributionWeightBps,
    AutoApprove,
    AutoApproveMinTier,
    AutoApproveMaxAmountMinor,
    Version,
    UpdatedAt,
}

/// The program's starting rules: RESELLER and DISTRIBUTOR are exclusive; no auto-approval.
const DEFAULTS: &[(&str, bool, i32, i32)] = &[
    ("RESELLER", true, 90, 4000),
    ("DISTRIBUTOR", true, 90, 1500),
    ("SYSTEM_INTEGRATOR", false, 120, 2500),
    ("ISV", false, 90, 1500),
    ("SERVICES", false, 90, 1000),
    ("REFERRAL", false, 60, 1000),
    ("INFLUENCER", false, 60, 500),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(CollaborationRules::Table)
                    .col(
                        ColumnDef::new(CollaborationRules::Role)
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(CollaborationRules::Exclusive)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CollaborationRules::ProtectionDays)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CollaborationRules::AttributionWeightBps)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CollaborationRules::AutoApprove)
                            .boolean()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CollaborationRules::AutoApproveMinTier)
                            .string()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(CollaborationRules::AutoApproveMaxAmountMinor)
                            .big_integer()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(CollaborationRules::Version)
                            .integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(CollaborationRules::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let mut insert = Query::insert();
        insert.into_table(CollaborationRules::Table).columns([
            CollaborationRules::Role,
            CollaborationRules::Exclusive,
            CollaborationRules::ProtectionDays,
            CollaborationRules::AttributionWeightBps,
            CollaborationRules::AutoApprove,
            CollaborationRules::Version,
            CollaborationRules::UpdatedAt,
        ]);
        for (role, exclusive, days, weight) in DEFAULTS {
            insert.values_panic([
                (*role).into(),
                (*exclusive).into(),
                (*days).into(),
                (*weight).into(),
                false.into(),
                1.into(),
                Expr::current_timestamp(),
            ]);
        }
        manager.exec_stmt(insert).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(CollaborationRules::Table).to_owned())
            .await
    }
}

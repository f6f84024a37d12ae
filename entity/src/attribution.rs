//! Attribution tables: the program settings, each opportunity's chosen model, the frozen
//! versions of a won deal's split, their rows, and the incentive rates.

pub mod settings {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "attribution_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub default_model: crate::enums::AttributionModel,
        pub include_direct_team: bool,
        pub direct_team_weight_bps: i32,
        pub version: i32,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod choice {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "opportunity_attribution")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub opportunity_id: i64,
        pub model: Option<crate::enums::AttributionModel>,
        /// MANUAL shares: JSON array of `{"partnerId": id or null for the direct team, "bps": n}`.
        pub manual_shares: Option<Json>,
        pub version: i32,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "attribution_versions")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub opportunity_id: i64,
        pub number: i32,
        pub model: crate::enums::AttributionModel,
        pub amount_minor: i64,
        pub currency: String,
        /// Only the latest version is current; corrections keep the old ones.
        pub current: bool,
        pub finalized_at: DateTimeUtc,
        pub finalized_by: String,
        pub reason: Option<String>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod row {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "attribution_rows")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub version_id: i64,
        pub opportunity_id: i64,
        /// `None` for the vendor's direct team.
        pub partner_id: Option<i64>,
        pub role: Option<crate::enums::RegistrationRole>,
        pub share_bps: i32,
        pub amount_minor: i64,
        pub currency: String,
        pub incentive_rate_bps: i32,
        pub incentive_minor: i64,
        pub finalized_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod rate {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "incentive_rates")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub tier: crate::enums::PartnerTier,
        #[sea_orm(primary_key, auto_increment = false)]
        pub role: crate::enums::RegistrationRole,
        pub rate_bps: i32,
        pub version: i32,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

//! Enumerations shared by the entities and the GraphQL schema.

use async_graphql::Enum;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A partner's level in the vendor's program; higher tiers earn more trust and incentives.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartnerTier {
    /// Entry level: registered in the program, no track record yet.
    #[sea_orm(string_value = "REGISTERED")]
    Registered,
    /// Proven partner with a few closed deals.
    #[sea_orm(string_value = "SILVER")]
    Silver,
    /// Established partner with certified staff.
    #[sea_orm(string_value = "GOLD")]
    Gold,
    /// Strategic partner: the highest tier.
    #[sea_orm(string_value = "PLATINUM")]
    Platinum,
}

/// Whether a partner may act in the program.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartnerStatus {
    /// The partner may use the API.
    #[sea_orm(string_value = "ACTIVE")]
    Active,
    /// The partner's tokens are refused until a vendor reactivates it.
    #[sea_orm(string_value = "SUSPENDED")]
    Suspended,
}

/// Where an opportunity stands in the sales cycle. CLOSED_WON and CLOSED_LOST are final
/// unless a vendor ADMIN reopens the opportunity.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OpportunityStage {
    /// First contact; the need is not confirmed yet.
    #[sea_orm(string_value = "PROSPECTING")]
    Prospecting,
    /// Need, budget and timing are being confirmed.
    #[sea_orm(string_value = "QUALIFICATION")]
    Qualification,
    /// The solution is being designed with the customer.
    #[sea_orm(string_value = "SOLUTION")]
    Solution,
    /// A priced proposal is with the customer.
    #[sea_orm(string_value = "PROPOSAL")]
    Proposal,
    /// Terms are being negotiated.
    #[sea_orm(string_value = "NEGOTIATION")]
    Negotiation,
    /// The customer bought. Final unless an ADMIN reopens.
    #[sea_orm(string_value = "CLOSED_WON")]
    ClosedWon,
    /// The customer did not buy. Final unless an ADMIN reopens.
    #[sea_orm(string_value = "CLOSED_LOST")]
    ClosedLost,
}

impl OpportunityStage {
    /// Closed stages end the sales cycle.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::ClosedWon | Self::ClosedLost)
    }

    /// The stage's name as stored and as shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prospecting => "PROSPECTING",
            Self::Qualification => "QUALIFICATION",
            Self::Solution => "SOLUTION",
            Self::Proposal => "PROPOSAL",
            Self::Negotiation => "NEGOTIATION",
            Self::ClosedWon => "CLOSED_WON",
            Self::ClosedLost => "CLOSED_LOST",
        }
    }
}

/// The part a partner plays on a deal. Whether a role is exclusive on one opportunity is a
/// collaboration rule.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegistrationRole {
    /// Resells the vendor's products to the customer (exclusive by default).
    #[sea_orm(string_value = "RESELLER")]
    Reseller,
    /// Introduced the customer and hands the deal over.
    #[sea_orm(string_value = "REFERRAL")]
    Referral,
    /// Shapes the customer's decision without transacting.
    #[sea_orm(string_value = "INFLUENCER")]
    Influencer,
    /// Implements and integrates the solution.
    #[sea_orm(string_value = "SYSTEM_INTEGRATOR")]
    SystemIntegrator,
    /// Sells its own software alongside the vendor's.
    #[sea_orm(string_value = "ISV")]
    Isv,
    /// Supplies resellers (exclusive by default).
    #[sea_orm(string_value = "DISTRIBUTOR")]
    Distributor,
    /// Delivers consulting or managed services on the deal.
    #[sea_orm(string_value = "SERVICES")]
    Services,
}

impl RegistrationRole {
    pub const ALL: [RegistrationRole; 7] = [
        Self::Reseller,
        Self::Referral,
        Self::Influencer,
        Self::SystemIntegrator,
        Self::Isv,
        Self::Distributor,
        Self::Services,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reseller => "RESELLER",
            Self::Referral => "REFERRAL",
            Self::Influencer => "INFLUENCER",
            Self::SystemIntegrator => "SYSTEM_INTEGRATOR",
            Self::Isv => "ISV",
            Self::Distributor => "DISTRIBUTOR",
            Self::Services => "SERVICES",
        }
    }
}

/// Where a registration stands in its lifecycle:
/// DRAFT -> SUBMITTED -> UNDER_REVIEW -> APPROVED -> (WON | LOST | EXPIRED); SUBMITTED may be
/// approved at once by the auto-approval policy or sent back as NEEDS_INFO; UNDER_REVIEW may be
/// REJECTED; the partner may WITHDRAW any open registration.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegistrationStatus {
    /// Being written by the partner; not visible to the vendor's review yet.
    #[sea_orm(string_value = "DRAFT")]
    Draft,
    /// Submitted and waiting for review (or for the auto-approval policy).
    #[sea_orm(string_value = "SUBMITTED")]
    Submitted,
    /// A vendor is reviewing it, or a conflict holds it until resolved.
    #[sea_orm(string_value = "UNDER_REVIEW")]
    UnderReview,
    /// The vendor asked the partner for more information.
    #[sea_orm(string_value = "NEEDS_INFO")]
    NeedsInfo,
    /// Approved: the partner is protected on the deal until its protection window ends.
    #[sea_orm(string_value = "APPROVED")]
    Approved,
    /// Refused by the vendor. Final.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
    /// Withdrawn by the partner. Final.
    #[sea_orm(string_value = "WITHDRAWN")]
    Withdrawn,
    /// The deal closed won while the registration was approved. Final.
    #[sea_orm(string_value = "WON")]
    Won,
    /// The deal closed lost while the registration was approved. Final.
    #[sea_orm(string_value = "LOST")]
    Lost,
    /// The protection window passed before the deal closed. Final.
    #[sea_orm(string_value = "EXPIRED")]
    Expired,
}

impl RegistrationStatus {
    pub const ALL: [RegistrationStatus; 10] = [
        Self::Draft,
        Self::Submitted,
        Self::UnderReview,
        Self::NeedsInfo,
        Self::Approved,
        Self::Rejected,
        Self::Withdrawn,
        Self::Won,
        Self::Lost,
        Self::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Submitted => "SUBMITTED",
            Self::UnderReview => "UNDER_REVIEW",
            Self::NeedsInfo => "NEEDS_INFO",
            Self::Approved => "APPROVED",
            Self::Rejected => "REJECTED",
            Self::Withdrawn => "WITHDRAWN",
            Self::Won => "WON",
            Self::Lost => "LOST",
            Self::Expired => "EXPIRED",
        }
    }

    /// Final statuses never change again.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Rejected | Self::Withdrawn | Self::Won | Self::Lost | Self::Expired
        )
    }

    /// Statuses that hold a claim on the deal: they count for exclusivity and conflicts.
    pub fn is_claim(self) -> bool {
        matches!(
            self,
            Self::Submitted | Self::UnderReview | Self::NeedsInfo | Self::Approved
        )
    }
}

/// Why a submitted registration was held for review.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictKind {
    /// The same partner already holds a claim on the same deal.
    #[sea_orm(string_value = "DUPLICATE_REGISTRATION")]
    DuplicateRegistration,
    /// An exclusive role on the deal is already approved or pending for another partner.
    #[sea_orm(string_value = "EXCLUSIVE_ROLE_TAKEN")]
    ExclusiveRoleTaken,
    /// The account (by domain or a near-identical name) has an open deal the vendor's direct
    /// team owns past QUALIFICATION.
    #[sea_orm(string_value = "DIRECT_DEAL_OVERLAP")]
    DirectDealOverlap,
}

/// Whether a conflict still holds its registration.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictStatus {
    /// Waiting for a vendor to resolve it.
    #[sea_orm(string_value = "OPEN")]
    Open,
    /// Resolved; the resolution is recorded.
    #[sea_orm(string_value = "RESOLVED")]
    Resolved,
}

/// How a vendor resolved a conflict.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    EnumIter,
    DeriveActiveEnum,
    Enum,
    Serialize,
    Deserialize,
)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ConflictResolution {
    /// One registration wins and is approved; the other claims in the conflict are rejected.
    #[sea_orm(string_value = "WINNER_CHOSEN")]
    WinnerChosen,
    /// The held registration is approved alongside the others: the partners co-sell.
    #[sea_orm(string_value = "CO_SELL_ALLOWED")]
    CoSellAllowed,
    /// The held registration is rejected.
    #[sea_orm(string_value = "REJECTED")]
    Rejected,
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, EnumIter, DeriveActiveEnum, Enum, Serialize, Deserialize)]
        #[sea_orm(rs_type = "String", db_type = "String(StringLen::None)")]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($(#[$vmeta])* #[sea_orm(string_value = $value)] $variant),+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $value),+ }
            }
        }
    };
}

text_enum! {
    /// Whether a contact is still reachable in the role we know.
    ContactStatus {
        /// Reachable in the known role.
        Active = "ACTIVE",
        /// Left the customer company.
        LeftCompany = "LEFT_COMPANY",
        /// Still at the company, in another role.
        RoleChanged = "ROLE_CHANGED",
        /// Stopped answering.
        Unresponsive = "UNRESPONSIVE",
    }
}

text_enum! {
    /// The part a contact plays in the customer's buying decision.
    BuyingRole {
        /// Owns the budget.
        EconomicBuyer = "ECONOMIC_BUYER",
        /// The senior leader who backs the project.
        ExecutiveSponsor = "EXECUTIVE_SPONSOR",
        /// Makes the final call.
        DecisionMaker = "DECISION_MAKER",
        /// Sells the deal internally for us.
        Champion = "CHAMPION",
        /// Judges the technical fit.
        TechnicalEvaluator = "TECHNICAL_EVALUATOR",
        /// Shapes opinions without deciding.
        Influencer = "INFLUENCER",
        /// Will use the product.
        EndUser = "END_USER",
        /// Runs the purchase process.
        Procurement = "PROCUREMENT",
        /// Reviews the contract.
        Legal = "LEGAL",
        /// Works against the deal.
        Blocker = "BLOCKER",
    }
}

text_enum! {
    /// How senior a contact is.
    Seniority {
        /// Chief officer.
        CLevel = "C_LEVEL",
        /// Vice president.
        Vp = "VP",
        /// Director.
        Director = "DIRECTOR",
        /// Manager.
        Manager = "MANAGER",
        /// Individual contributor.
        IndividualContributor = "INDIVIDUAL_CONTRIBUTOR",
    }
}

text_enum! {
    /// How two contacts relate.
    ContactLinkKind {
        /// `from` reports to `to` (the org chart; never a cycle).
        ReportsTo = "REPORTS_TO",
        /// `from` influences `to`'s decisions.
        Influences = "INFLUENCES",
        /// `from` and `to` work together.
        WorksWith = "WORKS_WITH",
    }
}

text_enum! {
    /// The kind of touch between the selling side and a contact.
    EngagementKind {
        /// A meeting.
        Meeting = "MEETING",
        /// A call.
        Call = "CALL",
        /// An email exchange.
        Email = "EMAIL",
        /// A product demonstration.
        Demo = "DEMO",
        /// An event both attended.
        Event = "EVENT",
        /// A working session.
        Workshop = "WORKSHOP",
    }
}

text_enum! {
    /// How the contact came across in an engagement.
    Sentiment {
        /// Supportive.
        Positive = "POSITIVE",
        /// Neither.
        Neutral = "NEUTRAL",
        /// Sceptical or opposed.
        Negative = "NEGATIVE",
    }
}

text_enum! {
    /// How the credit for a deal is split between the parties on it.
    AttributionModel {
        /// By the collaboration rules' weight of each party's role.
        RoleWeighted = "ROLE_WEIGHTED",
        /// Equally between the parties.
        Equal = "EQUAL",
        /// By each party's engagements on the deal (meeting 3, workshop 4, demo 3, call 2,
        /// event 1, email 1).
        Contribution = "CONTRIBUTION",
        /// As the vendor sets the shares.
        Manual = "MANUAL",
    }
}

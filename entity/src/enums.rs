//! Enumerations shared by the entities and the GraphQL schema.

use async_graphql::Enum;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Declares an enum stored as its SCREAMING_CASE name in a text column and exposed as a GraphQL
/// enum, with `as_str`.
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
    /// A partner's level in the vendor's program; higher tiers earn more trust and incentives.
    PartnerTier {
        /// Entry level: registered in the program, no track record yet.
        Registered = "REGISTERED",
        /// Proven partner with a few closed deals.
        Silver = "SILVER",
        /// Established partner with certified staff.
        Gold = "GOLD",
        /// Strategic partner: the highest tier.
        Platinum = "PLATINUM",
    }
}

text_enum! {
    /// Whether a partner may act in the program.
    PartnerStatus {
        /// The partner may use the API.
        Active = "ACTIVE",
        /// The partner's tokens are refused until a vendor reactivates it.
        Suspended = "SUSPENDED",
    }
}

text_enum! {
    /// Where an opportunity stands in the sales cycle. CLOSED_WON and CLOSED_LOST are final
    /// unless a vendor ADMIN reopens the opportunity.
    OpportunityStage {
        /// First contact; the need is not confirmed yet.
        Prospecting = "PROSPECTING",
        /// Need, budget and timing are being confirmed.
        Qualification = "QUALIFICATION",
        /// The solution is being designed with the customer.
        Solution = "SOLUTION",
        /// A priced proposal is with the customer.
        Proposal = "PROPOSAL",
        /// Terms are being negotiated.
        Negotiation = "NEGOTIATION",
        /// The customer bought. Final unless an ADMIN reopens.
        ClosedWon = "CLOSED_WON",
        /// The customer did not buy. Final unless an ADMIN reopens.
        ClosedLost = "CLOSED_LOST",
    }
}

impl OpportunityStage {
    /// Closed stages end the sales cycle.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::ClosedWon | Self::ClosedLost)
    }
}

text_enum! {
    /// The part a partner plays on a deal. Whether a role is exclusive on one opportunity is a
    /// collaboration rule.
    RegistrationRole {
        /// Resells the vendor's products to the customer (exclusive by default).
        Reseller = "RESELLER",
        /// Introduced the customer and hands the deal over.
        Referral = "REFERRAL",
        /// Shapes the customer's decision without transacting.
        Influencer = "INFLUENCER",
        /// Implements and integrates the solution.
        SystemIntegrator = "SYSTEM_INTEGRATOR",
        /// Sells its own software alongside the vendor's.
        Isv = "ISV",
        /// Supplies resellers (exclusive by default).
        Distributor = "DISTRIBUTOR",
        /// Delivers consulting or managed services on the deal.
        Services = "SERVICES",
    }
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
}

text_enum! {
    /// Where a registration stands in its lifecycle:
    /// DRAFT -> SUBMITTED -> UNDER_REVIEW -> APPROVED -> (WON | LOST | EXPIRED); SUBMITTED may be
    /// approved at once by the auto-approval policy or sent back as NEEDS_INFO; UNDER_REVIEW may be
    /// REJECTED; the partner may WITHDRAW any open registration.
    RegistrationStatus {
        /// Being written by the partner; not visible to the vendor's review yet.
        Draft = "DRAFT",
        /// Submitted and waiting for review (or for the auto-approval policy).
        Submitted = "SUBMITTED",
        /// A vendor is reviewing it, or a conflict holds it until resolved.
        UnderReview = "UNDER_REVIEW",
        /// The vendor asked the partner for more information.
        NeedsInfo = "NEEDS_INFO",
        /// Approved: the partner is protected on the deal until its protection window ends.
        Approved = "APPROVED",
        /// Refused by the vendor. Final.
        Rejected = "REJECTED",
        /// Withdrawn by the partner. Final.
        Withdrawn = "WITHDRAWN",
        /// The deal closed won while the registration was approved. Final.
        Won = "WON",
        /// The deal closed lost while the registration was approved. Final.
        Lost = "LOST",
        /// The protection window passed before the deal closed. Final.
        Expired = "EXPIRED",
    }
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

text_enum! {
    /// Why a submitted registration was held for review.
    ConflictKind {
        /// The same partner already holds a claim on the same deal.
        DuplicateRegistration = "DUPLICATE_REGISTRATION",
        /// An exclusive role on the deal is already approved or pending for another partner.
        ExclusiveRoleTaken = "EXCLUSIVE_ROLE_TAKEN",
        /// The account (by domain or a near-identical name) has an open deal the vendor's direct
        /// team owns past QUALIFICATION.
        DirectDealOverlap = "DIRECT_DEAL_OVERLAP",
    }
}

text_enum! {
    /// Whether a conflict still holds its registration.
    ConflictStatus {
        /// Waiting for a vendor to resolve it.
        Open = "OPEN",
        /// Resolved; the resolution is recorded.
        Resolved = "RESOLVED",
    }
}

text_enum! {
    /// How a vendor resolved a conflict.
    ConflictResolution {
        /// One registration wins and is approved; the other claims in the conflict are rejected.
        WinnerChosen = "WINNER_CHOSEN",
        /// The held registration is approved alongside the others: the partners co-sell.
        CoSellAllowed = "CO_SELL_ALLOWED",
        /// The held registration is rejected.
        Rejected = "REJECTED",
    }
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

text_enum! {
    /// Where an invitation stands: OPEN until the partner accepts or declines it, the vendor
    /// withdraws it, or it expires.
    InvitationStatus {
        /// Waiting for the partner's answer.
        Open = "OPEN",
        /// The partner accepted: its registration in the proposed role went through the
        /// registration lifecycle (see `registration`).
        Accepted = "ACCEPTED",
        /// The partner declined (see `declineReason`).
        Declined = "DECLINED",
        /// Nobody answered before `expiresAt`.
        Expired = "EXPIRED",
        /// The vendor took it back before an answer.
        Withdrawn = "WITHDRAWN",
    }
}

text_enum! {
    /// A field of the deal the vendor shows an invited partner before it accepts.
    SharedField {
        /// The customer's company name.
        CustomerName = "CUSTOMER_NAME",
        /// The customer's web domain.
        CustomerDomain = "CUSTOMER_DOMAIN",
        /// The deal's name.
        DealName = "DEAL_NAME",
        /// The deal's amount and currency.
        Amount = "AMOUNT",
        /// The deal's stage.
        Stage = "STAGE",
        /// The products on the deal.
        Products = "PRODUCTS",
        /// The deal's region.
        Region = "REGION",
        /// When the deal is expected to close.
        ExpectedCloseDate = "EXPECTED_CLOSE_DATE",
    }
}

text_enum! {
    /// Whether a webhook endpoint receives deliveries.
    WebhookEndpointStatus {
        /// Deliveries are made.
        Active = "ACTIVE",
        /// No deliveries: paused by its owner, or turned off after deliveries kept failing
        /// (`disabledReason` says which). Events are kept for it: turn it on again to receive
        /// what it missed.
        Disabled = "DISABLED",
    }
}

text_enum! {
    /// Whose view of the program a webhook endpoint's deliveries take.
    WebhookView {
        /// The vendor's: every event.
        Vendor = "VENDOR",
        /// One partner's: its own claims and the shared state of its deals, as its `events` query.
        Partner = "PARTNER",
        /// An app's: what its scopes allow of the party it acts for.
        App = "APP",
    }
}

//! Engagement invitations in the GraphQL schema: the vendor invites partners to a deal, each
//! invited partner sees its own invitation and the fields shared with it, and answers.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject, ID};
use entity::enums::{InvitationStatus, OpportunityStage, RegistrationRole, SharedField};
use entity::invitation::Model;

use super::connection::{self, connection, TotalCount};
use super::opportunity::{Money, Opportunity};
use super::partner::Partner;
use super::registration::Registration;
use super::{db, loaders, page_limits, principal};
use crate::db::invitations as data;
use crate::error::AppError;
use crate::ids::{self, Kind};
use crate::scalars::{Date, DateTime};

/// The vendor's invitation of one partner to join a deal in a role. The invited partner sees
/// it and the fields the vendor shared, never other invitees nor the rest of the deal, until
/// its acceptance makes it a party. The vendor sees every invitation.
#[derive(Clone)]
pub struct Invitation(pub Model);

impl From<Model> for Invitation {
    fn from(m: Model) -> Self {
        Self(m)
    }
}

/// What the vendor showed the invited partners of the deal, as it was when it invited them.
/// A field the vendor did not share is null (see `fields`).
pub struct SharedDeal(data::Snapshot);

/// A contact at the customer the vendor shared with the invitation.
#[derive(SimpleObject)]
pub struct SharedContact {
    /// Full name.
    pub name: String,
    /// Job title, if known.
    pub title: Option<String>,
    /// Email address.
    pub email: String,
}

impl From<&data::SharedContact> for SharedContact {
    fn from(c: &data::SharedContact) -> Self {
        Self {
            name: c.name.clone(),
            title: c.title.clone(),
            email: c.email.clone(),
        }
    }
}

/// What the vendor showed the invited partners of the deal, as it was when it invited them.
#[Object]
impl SharedDeal {
    /// Which fields the vendor shared (contacts are listed in `contacts`).
    async fn fields(&self) -> Vec<SharedField> {
        self.0.fields()
    }
    /// The customer's company name (CUSTOMER_NAME).
    async fn customer_name(&self) -> Option<&str> {
        self.0.customer_name.as_deref()
    }
    /// The customer's web domain (CUSTOMER_DOMAIN).
    async fn customer_domain(&self) -> Option<&str> {
        self.0.customer_domain.as_deref()
    }
    /// The deal's name (DEAL_NAME).
    async fn deal_name(&self) -> Option<&str> {
        self.0.deal_name.as_deref()
    }
    /// The deal's amount (AMOUNT).
    async fn amount(&self) -> Option<Money> {
        let minor = self.0.amount?;
        Some(Money::new(
            minor,
            self.0.currency.clone().unwrap_or_default(),
        ))
    }
    /// The deal's stage (STAGE).
    async fn stage(&self) -> Option<OpportunityStage> {
        self.0.stage
    }
    /// The products on the deal (PRODUCTS).
    async fn products(&self) -> Option<&[String]> {
        self.0.products.as_deref()
    }
    /// The deal's region (REGION; null also when the deal has none).
    async fn region(&self) -> Option<&str> {
        self.0.region.as_ref().and_then(|r| r.as_deref())
    }
    /// When the deal is expected to close (EXPECTED_CLOSE_DATE).
    async fn expected_close_date(&self) -> Option<Date> {
        self.0.expected_close_date.map(Date)
    }
    /// Contacts at the customer the vendor chose to share: name, title and email.
    async fn contacts(&self) -> Vec<SharedContact> {
        self.0.contacts.iter().map(SharedContact::from).collect()
    }
}

/// The vendor's invitation of one partner to join a deal in a role.
#[Object]
impl Invitation {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Invitation, self.0.id).into()
    }
    /// OPEN until answered, withdrawn or expired.
    async fn status(&self) -> InvitationStatus {
        self.0.status
    }
    /// The role the partner is invited to play; accepting registers it in this role.
    async fn role(&self) -> RegistrationRole {
        self.0.role
    }
    /// The vendor's note to the partner.
    async fn message(&self) -> Option<&str> {
        self.0.message.as_deref()
    }
    /// The fields of the deal the vendor shared with the partner.
    async fn shared(&self) -> SharedDeal {
        SharedDeal(data::Snapshot::read(&self.0.shared))
    }
    /// When an OPEN invitation expires.
    async fn expires_at(&self) -> DateTime {
        DateTime(self.0.expires_at)
    }
    /// When the vendor invited.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When it was accepted, declined, withdrawn or expired; null while OPEN.
    async fn closed_at(&self) -> Option<DateTime> {
        self.0.closed_at.map(DateTime)
    }
    /// The partner's reason, when it declined.
    async fn decline_reason(&self) -> Option<&str> {
        self.0.decline_reason.as_deref()
    }
    /// Pass it back as `expectedVersion` when answering or withdrawing.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Who invited: the vendor user's or app's token subject (the acceptance's approval is
    /// recorded as this person's decision); partners read `vendor`.
    async fn invited_by(&self, ctx: &Context<'_>) -> String {
        crate::auth::actor::seen_by_partner_id(super::principal(ctx), &self.0.invited_by, None)
    }
    /// The invited partner.
    async fn partner(&self, ctx: &Context<'_>) -> Result<Option<Partner>> {
        Ok(loaders(ctx)
            .partners
            .load_one(self.0.partner_id)
            .await?
            .map(Partner))
    }
    /// The deal, as you may see it: the vendor always; the partner once its accepted claim
    /// makes it a party (null before: read `shared` instead).
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
        Ok(loaders(ctx)
            .opportunities
            .load_one(self.0.opportunity_id)
            .await?
            .map(Opportunity))
    }
    /// The registration the acceptance created (approved at once unless a conflict holds it
    /// for review).
    async fn registration(&self, ctx: &Context<'_>) -> Result<Option<Registration>> {
        match self.0.registration_id {
            Some(r) => Ok(loaders(ctx)
                .registrations
                .load_one(r)
                .await?
                .map(Registration::from)),
            None => Ok(None),
        }
    }
}

connection!(InvitationConnection, InvitationEdge, Invitation, Model);

/// Which invitations to list; every filter given must match.
#[derive(InputObject, Default)]
pub struct InvitationFilter {
    /// Only invitations to this partner (the vendor's filter; a partner's list is its own).
    pub partner_id: Option<ID>,
    /// Only these statuses.
    pub status_in: Option<Vec<InvitationStatus>>,
    /// Only invitations to this deal.
    pub opportunity_id: Option<ID>,
    /// Only OPEN invitations that expire before this time ("expiring soon").
    pub expiring_before: Option<DateTime>,
}

fn decode(id: &ID, kind: Kind, field: &'static str) -> Result<i64, AppError> {
    ids::decode_field(id, kind, field)
}

#[derive(Default)]
pub struct InvitationQuery;

#[Object]
impl InvitationQuery {
    /// Invitations you may see, oldest first: every invitation for the vendor; for a partner
    /// only those made to it. Needs `registrations:read` for apps.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn invitations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only invitations matching all of these filters.")] filter: Option<
            InvitationFilter,
        >,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")]
        last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<InvitationConnection> {
        let f = filter.unwrap_or_default();
        let filter = data::InvitationFilter {
            partner_id: f
                .partner_id
                .as_ref()
                .map(|p| decode(p, Kind::Partner, "partnerId"))
                .transpose()?,
            status_in: f.status_in,
            opportunity_id: f
                .opportunity_id
                .as_ref()
                .map(|o| decode(o, Kind::Opportunity, "opportunityId"))
                .transpose()?,
            expiring_before: f.expiring_before.map(|d| d.0),
        };
        let args = connection::page_args(first, after, last, before);
        let (page, q) =
            data::list(db(ctx), principal(ctx), filter, &args, page_limits(ctx)).await?;
        Ok(InvitationConnection::new(page, TotalCount::of(db(ctx), q)))
    }
}

/// A deal the vendor has not entered yet: created with the invitations.
#[derive(InputObject, Debug)]
pub struct LeadInput {
    /// The customer's web domain, e.g. `acme.com` (its account is created if new).
    pub account_domain: String,
    /// The customer's company name (1 to 200 characters).
    pub account_name: String,
    /// A name for the deal (1 to 200 characters).
    pub deal_name: String,
    /// The deal's value in minor units of `currency`; give both or neither.
    pub amount: Option<crate::scalars::MinorUnits>,
    /// ISO 4217 currency of `amount`.
    pub currency: Option<String>,
    /// When the deal is expected to close (default: in 90 days).
    pub expected_close_date: Option<Date>,
}

/// What the invited partners are shown of the deal before they accept.
#[derive(InputObject, Debug, Default)]
pub struct ShareInput {
    /// The deal's fields to show.
    #[graphql(default)]
    pub fields: Vec<SharedField>,
    /// Contacts at the deal's account to show (name, title, email; at most 20).
    #[graphql(default)]
    pub contact_ids: Vec<ID>,
}

/// An invitation of one or several partners to one deal.
#[derive(InputObject, Debug)]
pub struct InvitePartnersInput {
    /// The deal: an existing opportunity. Give this or `lead`.
    pub opportunity_id: Option<ID>,
    /// A new deal, created with the invitations. Give this or `opportunityId`.
    pub lead: Option<LeadInput>,
    /// The partners to invite (1 to 50); each gets its own invitation and sees no other.
    pub partner_ids: Vec<ID>,
    /// The role they are invited to play.
    pub role: RegistrationRole,
    /// A note to the partners (at most 4000 characters).
    pub message: Option<String>,
    /// What they are shown of the deal before they accept (default: nothing).
    pub share: Option<ShareInput>,
    /// When the invitations expire if unanswered (default: in 14 days; at most 90 days).
    pub expires_at: Option<DateTime>,
    /// Your unique key for this request (at most 200 characters): a retry with the same key
    /// returns the invitations the first one made instead of inviting twice.
    pub idempotency_key: Option<String>,
}

/// The invitations made, one per partner.
#[derive(SimpleObject)]
pub struct InvitePartnersPayload {
    /// One invitation per partner, in the order of their IDs.
    pub invitations: Vec<Invitation>,
}

/// A partner's acceptance.
#[derive(InputObject, Debug)]
pub struct AcceptInvitationInput {
    /// The invitation's ID.
    pub id: ID,
    /// The version you read; refused with VERSION_MISMATCH if it moved on.
    pub expected_version: i32,
    /// The justification of the registration the acceptance creates (default: one that
    /// quotes the invitation).
    pub justification: Option<String>,
}

/// The invitation accepted and the registration it created.
#[derive(SimpleObject)]
pub struct AcceptInvitationPayload {
    /// The invitation, now ACCEPTED.
    pub invitation: Invitation,
    /// Your registration in the invited role: APPROVED, or UNDER_REVIEW when a conflict holds
    /// it for the vendor's review.
    pub registration: Registration,
}

/// A partner's refusal.
#[derive(InputObject, Debug)]
pub struct DeclineInvitationInput {
    /// The invitation's ID.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// Why (1 to 2000 characters); the vendor reads it.
    pub reason: String,
}

/// The vendor takes back an open invitation.
#[derive(InputObject, Debug)]
pub struct WithdrawInvitationInput {
    /// The invitation's ID.
    pub id: ID,
    /// The version you read.
    pub expected_version: i32,
    /// Why (at most 2000 characters); the partner reads it in the event.
    pub reason: Option<String>,
}

/// An invitation as it is after the change.
#[derive(SimpleObject)]
pub struct InvitationPayload {
    /// The invitation as it is now.
    pub invitation: Invitation,
}

#[derive(Default)]
pub struct InvitationMutation;

#[Object]
impl InvitationMutation {
    /// Invites partners to a deal in a role (vendor ADMIN or CHANNEL_MANAGER; apps with
    /// `registrations:write`). Each invited partner sees its own invitation and what you
    /// share, and hears `invitation.created`.
    async fn invite_partners(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The deal, the partners, the role and what to share.")]
        input: InvitePartnersInput,
    ) -> Result<InvitePartnersPayload> {
        let grant = principal(ctx).grant()?;
        let opportunity_id = input
            .opportunity_id
            .as_ref()
            .map(|o| decode(o, Kind::Opportunity, "opportunityId"))
            .transpose()?;
        let partner_ids = input
            .partner_ids
            .iter()
            .map(|p| decode(p, Kind::Partner, "partnerIds"))
            .collect::<Result<Vec<_>, _>>()?;
        let share = input.share.unwrap_or_default();
        let contact_ids = share
            .contact_ids
            .iter()
            .map(|c| decode(c, Kind::Contact, "share"))
            .collect::<Result<Vec<_>, _>>()?;
        let command = data::InvitePartners {
            opportunity_id,
            lead: input.lead.map(|l| data::Lead {
                account_domain: l.account_domain,
                account_name: l.account_name,
                deal_name: l.deal_name,
                amount: l.amount.map(|a| a.0),
                currency: l.currency,
                expected_close_date: l.expected_close_date.map(|d| d.0),
            }),
            partner_ids,
            role: input.role,
            message: input.message,
            share: data::Share {
                fields: share.fields,
                contact_ids,
            },
            expires_at: input
                .expires_at
                .map(|d| d.0)
                .unwrap_or_else(|| chrono::Utc::now() + chrono::Duration::days(14)),
            idempotency_key: input.idempotency_key,
        };
        let db = db(ctx).clone();
        let made =
            super::write(ctx, async move { data::invite(&db, &grant, command).await }).await?;
        Ok(InvitePartnersPayload {
            invitations: made.into_iter().map(Invitation).collect(),
        })
    }

    /// Accepts an invitation made to your partner: registers you on the deal in the invited
    /// role through the registration lifecycle (conflict detection included), approved at
    /// once unless a conflict holds it for review.
    async fn accept_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation and the version you read.")] input: AcceptInvitationInput,
    ) -> Result<AcceptInvitationPayload> {
        let grant = principal(ctx).grant()?;
        let answer = data::Answer {
            id: input.id.to_string(),
            expected_version: input.expected_version,
            text: input.justification,
        };
        let db = db(ctx).clone();
        let (inv, reg) =
            super::write(ctx, async move { data::accept(&db, &grant, answer).await }).await?;
        Ok(AcceptInvitationPayload {
            invitation: Invitation(inv),
            registration: reg.into(),
        })
    }

    /// Declines an invitation made to your partner, with a reason the vendor reads.
    async fn decline_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation, the version you read and why.")]
        input: DeclineInvitationInput,
    ) -> Result<InvitationPayload> {
        let grant = principal(ctx).grant()?;
        let answer = data::Answer {
            id: input.id.to_string(),
            expected_version: input.expected_version,
            text: Some(input.reason),
        };
        let db = db(ctx).clone();
        let m = super::write(ctx, async move { data::decline(&db, &grant, answer).await }).await?;
        Ok(InvitationPayload {
            invitation: Invitation(m),
        })
    }

    /// Withdraws an OPEN invitation (vendor ADMIN or CHANNEL_MANAGER; apps with
    /// `registrations:write`).
    async fn withdraw_invitation(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The invitation, the version you read and why.")]
        input: WithdrawInvitationInput,
    ) -> Result<InvitationPayload> {
        let grant = principal(ctx).grant()?;
        let answer = data::Answer {
            id: input.id.to_string(),
            expected_version: input.expected_version,
            text: input.reason,
        };
        let db = db(ctx).clone();
        let m = super::write(
            ctx,
            async move { data::withdraw(&db, &grant, answer).await },
        )
        .await?;
        Ok(InvitationPayload {
            invitation: Invitation(m),
        })
    }
}

/// Answers to invitations in one group.
#[derive(SimpleObject)]
pub struct InvitationAnswerFigures {
    /// Invitations made.
    pub invited: u64,
    /// Accepted by the partner.
    pub accepted: u64,
    /// Declined by the partner.
    pub declined: u64,
    /// Expired unanswered.
    pub expired: u64,
    /// Withdrawn by the vendor.
    pub withdrawn: u64,
    /// Still OPEN.
    pub open: u64,
    /// accepted / (accepted + declined + expired), 0 to 1; null before any of them.
    pub acceptance_rate: Option<f64>,
    /// Median hours from the invitation to the partner's answer; null before any answer.
    pub median_hours_to_answer: Option<f64>,
}

impl From<data::AnswerFigures> for InvitationAnswerFigures {
    fn from(f: data::AnswerFigures) -> Self {
        Self {
            invited: f.invited,
            accepted: f.accepted,
            declined: f.declined,
            expired: f.expired,
            withdrawn: f.withdrawn,
            open: f.open,
            acceptance_rate: f.acceptance_rate,
            median_hours_to_answer: f.median_hours_to_answer,
        }
    }
}

/// Invitation figures of one partner.
#[derive(SimpleObject)]
pub struct PartnerInvitationFigures {
    /// The partner's ID.
    pub partner_id: ID,
    /// Its figures.
    pub figures: InvitationAnswerFigures,
}

/// Invitation figures of one role.
#[derive(SimpleObject)]
pub struct RoleInvitationFigures {
    /// The role.
    pub role: RegistrationRole,
    /// Its figures.
    pub figures: InvitationAnswerFigures,
}

/// How partners answer the vendor's invitations.
#[derive(SimpleObject)]
pub struct InvitationFigures {
    /// Over every invitation counted.
    pub overall: InvitationAnswerFigures,
    /// Per invited partner (a partner sees only itself).
    pub by_partner: Vec<PartnerInvitationFigures>,
    /// Per invited role.
    pub by_role: Vec<RoleInvitationFigures>,
}

impl From<data::InvitationFigures> for InvitationFigures {
    fn from(f: data::InvitationFigures) -> Self {
        Self {
            overall: f.overall.into(),
            by_partner: f
                .by_partner
                .into_iter()
                .map(|(p, figures)| PartnerInvitationFigures {
                    partner_id: ids::encode(Kind::Partner, p).into(),
                    figures: figures.into(),
                })
                .collect(),
            by_role: f
                .by_role
                .into_iter()
                .map(|(role, figures)| RoleInvitationFigures {
                    role,
                    figures: figures.into(),
                })
                .collect(),
        }
    }
}

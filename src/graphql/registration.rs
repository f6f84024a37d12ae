//! Deal registrations, their conflicts and the collaboration rules in the GraphQL schema: the
//! objects here, the queries and mutations in `registration/operations.rs`.

use async_graphql::{Context, Object, Result, SimpleObject, ID};
use entity::conflict::Model as ConflictModel;
use entity::enums::{ConflictStatus, RegistrationRole, RegistrationStatus};
use entity::registration::Model;
use entity::registration_transition::Model as TransitionModel;

use super::conflict::{ResolveConflictPayload, UpdateCollaborationRulePayload};
use super::connection::{self, connection, TotalCount};
use super::figures::ProgramFigures;
use super::inputs::decision::{
    ApproveRegistrationInput, BulkDecideRegistrationsInput, RegistrationDecisionInput,
    ResolveConflictInput, StartRegistrationReviewInput, UpdateCollaborationRuleInput,
};
use super::inputs::registration::{
    AnswerInfoRequestInput, ProtectionExtensionInput, RegistrationDraftInput, RegistrationFilter,
    RegistrationOrder, SubmitRegistrationInput, UpdateRegistrationDraftInput,
};
use super::opportunity::{Money, Opportunity};
use super::outcomes::BulkDecideRegistrationsPayload;
use super::partner::Partner;
use super::{db, loaders, page_limits, principal};
use crate::db::registrations::{self as data, conflicts, figures};
use crate::db::registrations::{ReviewSla, AWAITING_VENDOR};
use crate::db::rules;
use crate::error::AppError;
use crate::ids::{self, Kind};
use crate::scalars::{Date, DateTime};

pub use super::conflict::{CollaborationRule, Conflict};

/// A partner's claim on a deal in one role. A partner sees only its own registrations.
/// The row is shared with the request's loaders, not copied for each place it answers.
#[derive(Clone)]
pub struct Registration(pub std::sync::Arc<Model>, pub Texts);

/// The fields of `Registration` answered from its summary columns alone
/// (`db::registrations::SUMMARY`).
const SUMMARY_FIELDS: &[&str] = &[
    "__typename",
    "id",
    "role",
    "status",
    "partner",
    "opportunity",
];

/// Whether the selection of a field returning registrations asks only for what their summary
/// columns answer (fragments counted), so that they can be read without the other columns.
pub fn summary_only(field: async_graphql::SelectionField<'_>) -> bool {
    field
        .selection_set()
        .all(|f| SUMMARY_FIELDS.contains(&f.name()))
}

/// Whether a registration's row came with its long texts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Texts {
    Loaded,
    /// Read from a list that leaves them out: fetched, for the whole list at once, when asked.
    Deferred,
}

impl From<Model> for Registration {
    fn from(m: Model) -> Self {
        Self(std::sync::Arc::new(m), Texts::Loaded)
    }
}

impl Registration {
    /// A row of a list that leaves the texts out.
    pub fn without_texts(m: std::sync::Arc<Model>) -> Self {
        Self(m, Texts::Deferred)
    }

    async fn texts(&self, ctx: &Context<'_>) -> Result<data::Texts> {
        match self.1 {
            Texts::Loaded => Ok(data::Texts::of(&self.0)),
            Texts::Deferred => Ok(loaders(ctx)
                .registration_texts
                .load_one(self.0.id)
                .await?
                .unwrap_or_default()),
        }
    }
}

/// The vendor's decision on a registration.
#[derive(SimpleObject)]
pub struct RegistrationDecision {
    /// Who decided: the deciding user's or app's token subject, or `policy:auto-approval`;
    /// partners read `vendor` in place of the vendor's people.
    pub decided_by: String,
    /// When.
    pub decided_at: DateTime,
    /// Why, if given.
    pub reason: Option<String>,
    /// True when the auto-approval policy approved it at submission.
    pub automatic: bool,
}

/// A partner's pending request for a longer protection window.
#[derive(SimpleObject)]
pub struct ExtensionRequest {
    /// Days asked for.
    pub days: i32,
    /// Why.
    pub reason: String,
}

/// A partner's claim on a deal in one role. A partner sees only its own registrations.
#[Object]
impl Registration {
    /// Opaque global ID.
    pub async fn id(&self) -> ID {
        ids::encode(Kind::Registration, self.0.id).into()
    }
    /// The partner that registered.
    async fn partner(&self, ctx: &Context<'_>) -> Result<Option<Partner>> {
        Ok(loaders(ctx)
            .partners
            .load_one(self.0.partner_id)
            .await?
            .map(Partner))
    }
    /// The opportunity claimed; null for a proposed deal until approval links or creates it.
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Option<Opportunity>> {
        match self.0.opportunity_id {
            Some(o) => Ok(loaders(ctx)
                .opportunities
                .load_one(o)
                .await?
                .map(Opportunity)),
            None => Ok(None),
        }
    }
    /// The customer's normalised web domain.
    async fn account_domain(&self) -> &str {
        &self.0.account_domain
    }
    /// The customer's name as the partner gave it.
    async fn account_name(&self) -> Option<&str> {
        self.0.account_name.as_deref()
    }
    /// The deal's name as the partner gave it.
    async fn deal_name(&self) -> Option<&str> {
        self.0.deal_name.as_deref()
    }
    /// The partner's estimate of the deal's value.
    async fn amount(&self) -> Option<Money> {
        match (self.0.amount_minor, &self.0.currency) {
            (Some(a), Some(c)) => Some(Money::new(a, c.as_str())),
            _ => None,
        }
    }
    /// When the partner expects the deal to close.
    async fn expected_close_date(&self) -> Option<Date> {
        self.0.expected_close_date.map(Date)
    }
    /// The partner's role on the deal.
    async fn role(&self) -> RegistrationRole {
        self.0.role
    }
    /// Where the registration stands.
    async fn status(&self) -> RegistrationStatus {
        self.0.status
    }
    /// Why the deal is the partner's.
    async fn justification(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(self.texts(ctx).await?.justification)
    }
    /// Notes only the registering partner and the vendor can read.
    async fn private_notes(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.texts(ctx).await?.private_notes)
    }
    /// The vendor's open question while NEEDS_INFO.
    async fn info_request(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.texts(ctx).await?.info_request)
    }
    /// A pending request for more protection.
    async fn extension_request(&self, ctx: &Context<'_>) -> Result<Option<ExtensionRequest>> {
        let Some(days) = self.0.extension_requested_days else {
            return Ok(None);
        };
        Ok(self
            .texts(ctx)
            .await?
            .extension_reason
            .map(|reason| ExtensionRequest { days, reason }))
    }
    /// When protection ends, while APPROVED.
    async fn protection_expires_at(&self) -> Option<DateTime> {
        self.0.protection_expires_at.map(DateTime)
    }
    /// When it was last submitted.
    async fn submitted_at(&self) -> Option<DateTime> {
        self.0.submitted_at.map(DateTime)
    }
    /// The decision, once approved or rejected.
    async fn decision(&self, ctx: &Context<'_>) -> Result<Option<RegistrationDecision>> {
        let (Some(by), Some(at)) = (&self.0.decided_by, self.0.decided_at) else {
            return Ok(None);
        };
        Ok(Some(RegistrationDecision {
            decided_by: crate::auth::actor::seen_by_partner_id(super::principal(ctx), by, None),
            decided_at: DateTime(at),
            reason: self.texts(ctx).await?.decision_reason,
            automatic: self.0.auto_approved,
        }))
    }
    /// Every transition, oldest first, with who made it, when and why.
    async fn history(&self, ctx: &Context<'_>) -> Result<Vec<RegistrationTransition>> {
        let h = loaders(ctx)
            .registration_history
            .load_one(self.0.id)
            .await?;
        Ok(h.unwrap_or_default()
            .into_iter()
            .map(RegistrationTransition)
            .collect())
    }
    /// The conflicts raised on this registration, open and resolved.
    async fn conflicts(&self, ctx: &Context<'_>) -> Result<Vec<Conflict>> {
        let c = loaders(ctx)
            .registration_conflicts
            .load_one(self.0.id)
            .await?;
        Ok(c.unwrap_or_default().into_iter().map(Conflict).collect())
    }
    /// Optimistic-concurrency version; pass it as `expectedVersion`.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the registration was created.
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    /// When it last changed.
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
}

/// One status change of a registration.
pub struct RegistrationTransition(pub TransitionModel);

/// One status change of a registration.
#[Object]
impl RegistrationTransition {
    /// The status before; null for the creation of the draft.
    async fn from_status(&self) -> Option<RegistrationStatus> {
        self.0.from_status
    }
    /// The status after.
    async fn to_status(&self) -> RegistrationStatus {
        self.0.to_status
    }
    /// Who made it: a token subject, `policy:auto-approval` or `system:*`. Partners read their
    /// own people's subjects and `vendor` in place of the vendor's people.
    async fn actor(&self, ctx: &Context<'_>) -> String {
        crate::auth::actor::seen_by_partner_id(
            super::principal(ctx),
            &self.0.actor,
            self.0.actor_partner_id,
        )
    }
    /// Why, if a reason was given.
    async fn reason(&self) -> Option<&str> {
        self.0.reason.as_deref()
    }
    /// When.
    async fn at(&self) -> DateTime {
        DateTime(self.0.at)
    }
}

connection!(
    RegistrationConnection,
    RegistrationEdge,
    Registration,
    Model
);
connection!(ConflictConnection, ConflictEdge, Conflict, ConflictModel);

/// The result of a registration change.
#[derive(SimpleObject)]
pub struct RegistrationPayload {
    /// The registration as it is after the change.
    pub registration: Registration,
}

fn sla(ctx: &Context<'_>) -> ReviewSla {
    *ctx.data_unchecked::<ReviewSla>()
}

async fn page_of(
    ctx: &Context<'_>,
    filter: Option<RegistrationFilter>,
    order: Option<RegistrationOrder>,
    args: &crate::db::page::PageArgs,
) -> Result<RegistrationConnection> {
    let (page, count) = data::list(
        db(ctx),
        principal(ctx),
        filter.map(Into::into).unwrap_or_default(),
        order.map(Into::into).unwrap_or_default(),
        sla(ctx),
        args,
        page_limits(ctx),
    )
    .await?;
    if let Some(sel) = super::prefetch::connection_nodes(ctx) {
        let rows: Vec<&Model> = page.items.iter().map(|(_, m)| m).collect();
        super::prefetch::registrations(ctx, &rows, sel, false, Default::default()).await?;
    }
    Ok(RegistrationConnection::new(
        page,
        TotalCount::counting(db(ctx), count),
    ))
}

mod operations;

pub use operations::{RegistrationMutation, RegistrationQuery};

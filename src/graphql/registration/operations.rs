//! The registration queries (lists, the review queue, rules, figures) and mutations (the
//! lifecycle, decisions, conflicts, rules).

use super::*;

#[derive(Default)]
pub struct RegistrationQuery;

#[Object]
impl RegistrationQuery {
    /// Registrations you may see: all of them for the vendor, your own for a partner.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn registrations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only registrations matching all of these filters.")] filter: Option<
            RegistrationFilter,
        >,
        #[graphql(desc = "Sort order; CREATED_ASC by default.")] order_by: Option<
            RegistrationOrder,
        >,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<RegistrationConnection> {
        let args = connection::page_args(first, after, last, before);
        page_of(ctx, filter, order_by, &args).await
    }

    /// Your organisation's registrations (partners), with the same filters as `registrations`.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn my_registrations(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only registrations matching all of these filters.")] filter: Option<
            RegistrationFilter,
        >,
        #[graphql(desc = "Sort order; CREATED_ASC by default.")] order_by: Option<
            RegistrationOrder,
        >,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<RegistrationConnection> {
        if principal(ctx).partner_id().is_none() {
            return Err(AppError::Forbidden(
                "myRegistrations is for partners; the vendor uses registrations or reviewQueue"
                    .into(),
            )
            .into());
        }
        let args = connection::page_args(first, after, last, before);
        page_of(ctx, filter, order_by, &args).await
    }

    /// The vendor's review queue: registrations waiting for a decision (SUBMITTED or
    /// UNDER_REVIEW unless `filter.statusIn` says otherwise), longest waiting first.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn review_queue(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Narrow the queue: partner, role, conflict, age, SLA breach.")]
        filter: Option<RegistrationFilter>,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<RegistrationConnection> {
        if !principal(ctx).is_vendor_party() {
            return Err(AppError::Forbidden("the review queue is the vendor's".into()).into());
        }
        let args = connection::page_args(first, after, last, before);
        let mut f = filter.unwrap_or_default();
        if f.status_in.is_none() {
            f.status_in = Some(AWAITING_VENDOR.to_vec());
        }
        page_of(ctx, Some(f), Some(RegistrationOrder::SubmittedAsc), &args).await
    }

    /// One registration by ID. An unknown ID and another partner's both answer NOT_FOUND.
    async fn registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The registration's ID.")] id: ID,
    ) -> Result<Registration> {
        let id = ids::decode_field(&id, Kind::Registration, "id")?;
        Ok(data::get(db(ctx), principal(ctx), id).await?.into())
    }

    /// Conflicts you may see: all for the vendor, those on your registrations for a partner.
    #[graphql(complexity = "connection::cost(first, last, child_complexity)")]
    async fn conflicts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only conflicts in this status.")] status: Option<ConflictStatus>,
        #[graphql(desc = "Page size counted from the start or from `after` (1 to 100).")]
        first: Option<i32>,
        #[graphql(desc = "Return items after this cursor.")] after: Option<String>,
        #[graphql(desc = "Page size counted back from the end or from `before` (1 to 100).")] last: Option<i32>,
        #[graphql(desc = "Return items before this cursor.")] before: Option<String>,
    ) -> Result<ConflictConnection> {
        let args = connection::page_args(first, after, last, before);
        let (page, q) =
            conflicts::list(db(ctx), principal(ctx), status, &args, page_limits(ctx)).await?;
        Ok(ConflictConnection::new(page, TotalCount::of(db(ctx), q)))
    }

    /// One conflict by ID.
    async fn conflict(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conflict's ID.")] id: ID,
    ) -> Result<Conflict> {
        let id = ids::decode_field(&id, Kind::Conflict, "id")?;
        Ok(conflicts::get(db(ctx), principal(ctx), id).await?.into())
    }

    /// The collaboration rules of every role: the program's published terms.
    async fn collaboration_rules(&self, ctx: &Context<'_>) -> Result<Vec<CollaborationRule>> {
        Ok(rules::all(db(ctx), principal(ctx))
            .await?
            .into_iter()
            .map(CollaborationRule)
            .collect())
    }

    /// Registration figures over the registrations you may see (a partner's are its own):
    /// counts by status, approval rate and median time to decision, by partner and by role.
    async fn program_figures(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Count registrations created at or after this time.")] from: Option<
            DateTime,
        >,
        #[graphql(desc = "Count registrations created before this time.")] to: Option<DateTime>,
    ) -> Result<ProgramFigures> {
        let window = (from.map(|d| d.0), to.map(|d| d.0));
        let f = figures::figures(db(ctx), principal(ctx), window.0, window.1).await?;
        let mut out = ProgramFigures::from(f);
        out.window = window;
        Ok(out)
    }
}

macro_rules! write {
    ($ctx:expr, |$db:ident, $p:ident| $body:expr) => {{
        let ($db, $p) = (db($ctx).clone(), principal($ctx).grant()?);
        let m = crate::graphql::write($ctx, async move {
            let ($db, $p) = (&$db, &$p);
            $body.await
        })
        .await?;
        Ok(RegistrationPayload {
            registration: m.into(),
        })
    }};
}

#[derive(Default)]
pub struct RegistrationMutation;

#[Object]
impl RegistrationMutation {
    /// Partners: starts a DRAFT registration.
    async fn create_registration_draft(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What you claim.")] input: RegistrationDraftInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::create_draft(d, p, input.into()))
    }

    /// Partners: replaces the content of a DRAFT.
    async fn update_registration_draft(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The draft and its new content.")] input: UpdateRegistrationDraftInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::update_draft(d, p, input.into()))
    }

    /// Partners: submits a draft, or creates and submits in one call. Conflicts hold it
    /// UNDER_REVIEW; the auto-approval policy may approve it at once. Send an
    /// `idempotencyKey`: a retry with the same key returns the first result (the same key with
    /// a different request answers IDEMPOTENCY_KEY_REUSED).
    async fn submit_registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The draft, or a new claim, and your idempotency key.")]
        input: SubmitRegistrationInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::submit(d, p, input.into()))
    }

    /// Partners: answers a NEEDS_INFO request; the registration is submitted again.
    async fn answer_info_request(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Your answer.")] input: AnswerInfoRequestInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::answer_info(d, p, input.into()))
    }

    /// Partners: withdraws an open registration (final).
    async fn withdraw_registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The registration and an optional reason.")]
        input: RegistrationDecisionInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::withdraw(d, p, input.into()))
    }

    /// Partners: asks the vendor to extend an APPROVED registration's protection.
    async fn request_protection_extension(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Days and why.")] input: ProtectionExtensionInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::request_extension(d, p, input.into()))
    }

    /// Vendor (CHANNEL_MANAGER, ADMIN): takes a SUBMITTED registration into review.
    async fn start_registration_review(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The registration and the version you read.")]
        input: StartRegistrationReviewInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::start_review(
            d,
            p,
            &input.id,
            input.expected_version
        ))
    }

    /// Vendor (CHANNEL_MANAGER, ADMIN): approves a registration, linking a proposed deal to an
    /// opportunity or creating one, and starts its protection window.
    async fn approve_registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The registration and how to link it.")] input: ApproveRegistrationInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::approve(d, p, input.into()))
    }

    /// Vendor (CHANNEL_MANAGER, ADMIN): rejects a registration; `reason` is required.
    async fn reject_registration(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The registration and why.")] input: RegistrationDecisionInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::reject(d, p, input.into()))
    }

    /// Vendor (CHANNEL_MANAGER, ADMIN): asks the partner for more information; `reason` is
    /// the question.
    async fn request_registration_info(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The registration and your question.")] input: RegistrationDecisionInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::request_info(d, p, input.into()))
    }

    /// Vendor (CHANNEL_MANAGER, ADMIN): extends an APPROVED registration's protection.
    async fn extend_registration_protection(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Days to add.")] input: ProtectionExtensionInput,
    ) -> Result<RegistrationPayload> {
        write!(ctx, |d, p| data::extend_protection(d, p, input.into()))
    }

    /// Vendor (CHANNEL_MANAGER, ADMIN): resolves a conflict by naming a winner, allowing
    /// co-selling, or rejecting the held registration.
    async fn resolve_conflict(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The conflict and the resolution.")] input: ResolveConflictInput,
    ) -> Result<ResolveConflictPayload> {
        let (d, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let c = crate::graphql::write(
            ctx,
            async move { data::resolve(&d, &p, input.into()).await },
        )
        .await?;
        Ok(ResolveConflictPayload { conflict: c.into() })
    }

    /// Vendor (CHANNEL_MANAGER, ADMIN): approves or rejects up to 100 registrations; each item
    /// is its own transaction and has its own result.
    async fn bulk_decide_registrations(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "The decision, the registrations with the versions you read, and the reason."
        )]
        input: BulkDecideRegistrationsInput,
    ) -> Result<BulkDecideRegistrationsPayload> {
        let (d, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let BulkDecideRegistrationsInput {
            decision,
            items,
            reason,
        } = input;
        let items = items.into_iter().map(Into::into).collect();
        let results = crate::graphql::write(ctx, async move {
            data::bulk(&d, &p, decision.into(), items, reason).await
        })
        .await?;
        Ok(BulkDecideRegistrationsPayload {
            results: results.into_iter().map(Into::into).collect(),
        })
    }

    /// Vendor ADMIN: changes one role's collaboration rule.
    async fn update_collaboration_rule(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The role and what to change.")] input: UpdateCollaborationRuleInput,
    ) -> Result<UpdateCollaborationRulePayload> {
        let (d, p) = (db(ctx).clone(), principal(ctx).grant()?);
        let rule = crate::graphql::write(
            ctx,
            async move { rules::update(&d, &p, input.into()).await },
        )
        .await?;
        Ok(UpdateCollaborationRulePayload {
            rule: CollaborationRule(rule),
        })
    }
}

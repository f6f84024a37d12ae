//! Subscriptions: live events from the outbox, each with the object it is about as the
//! subscriber may see it now. Every subscription takes `after`, the id of the last event the
//! client received: what it missed is sent first, in order, then live events, with no gap and
//! no duplicate. Scoping is the same as the `events` query's: a partner hears only of its own
//! registrations and of the deals it is on.

use std::sync::Arc;

use async_graphql::{Context, Result, SimpleObject, Subscription, ID};
use entity::enums::{ConflictStatus, RegistrationStatus};
use entity::event;
use futures_util::{Stream, StreamExt};
use sea_orm::DatabaseConnection;

use super::events::{parse_after, Event};
use super::opportunity::Opportunity;
use super::principal;
use super::registration::{Conflict, Registration};
use crate::auth::{Principal, Resource};
use crate::db::events::payload::RegistrationTransition;
use crate::db::events::{Payload, Topic};
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};
use crate::realtime::feed::{Feed, Wants};
use crate::realtime::Hub;

/// A registration's status changed.
#[derive(SimpleObject)]
pub struct RegistrationEvent {
    /// The outbox event: its `id` is your resume cursor, its `topic` the new status
    /// (`registration.approved`, ...), its payload the transition (`from`, `to`, `reason`).
    pub event: Event,
    /// The registration as you may see it now; null if you no longer may.
    pub registration: Option<Registration>,
}

/// A conflict was raised on a registration, or resolved.
#[derive(SimpleObject)]
pub struct ConflictEvent {
    /// The outbox event (`conflict.raised` or `conflict.resolved`).
    pub event: Event,
    /// The conflict as you may see it now; null if you no longer may.
    pub conflict: Option<Conflict>,
}

/// An invitation was made, answered, withdrawn or expired.
#[derive(SimpleObject)]
pub struct InvitationEvent {
    /// The outbox event (`invitation.created`, `invitation.accepted`, `invitation.declined`,
    /// `invitation.expired`, `invitation.withdrawn`); its payload carries the reason of a
    /// decline or withdrawal.
    pub event: Event,
    /// The invitation as you may see it now.
    pub invitation: Option<super::invitation::Invitation>,
}

/// Something changed about a deal: its shared state, its threading or its attribution.
#[derive(SimpleObject)]
pub struct OpportunityEvent {
    /// The outbox event (`opportunity.stage_changed`, `threading.risk_raised`,
    /// `attribution.finalized`, ...).
    pub event: Event,
    /// The opportunity as you may see it now (partners see the shared deal state); null if
    /// you no longer may.
    pub opportunity: Option<Opportunity>,
}

#[derive(Default)]
pub struct RealtimeSubscription;

/// How the subscription fields run, when the transport says (request data). Without it a field
/// opens its feed and resolves each event on its own.
///
/// The transports share the work of many subscribers: a [`Mode::Probe`] checks the arguments
/// and scopes and hands the subscriber's feed over, then each event the feed yields is
/// resolved once in [`Mode::Render`] for every subscriber with the same view and the same
/// document (see `pipeline::live`).
pub enum Mode {
    /// Check everything, open the caller's feed and leave it here; the field yields nothing.
    Probe(Arc<std::sync::Mutex<Option<Feed>>>),
    /// Resolve the field for this one event (already scoped to the caller by its feed).
    Render(Arc<event::Model>),
    /// Answer this error as the field's next result (the feed failed for good).
    Fail(std::sync::Mutex<Option<AppError>>),
}

type Events = futures_util::stream::BoxStream<'static, AppResult<Arc<event::Model>>>;

/// The events of the caller's feed after `after` that `wants` accepts, as the request's
/// [`Mode`] says.
async fn feed(ctx: &Context<'_>, after: Option<&ID>, wants: Wants) -> Result<Events> {
    let after = parse_after(after)?;
    let open = |wants| async move {
        let hub = ctx.data_unchecked::<Arc<Hub>>().clone();
        Feed::open(hub, principal(ctx).clone(), after, wants).await
    };
    match ctx.data_opt::<Mode>() {
        None => Ok(open(wants).await?.into_stream().boxed()),
        Some(Mode::Probe(slot)) => {
            let feed = open(wants).await?;
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(feed);
            Ok(futures_util::stream::empty().boxed())
        }
        Some(Mode::Render(ev)) => {
            let ev = wants(ev).then(|| Ok(ev.clone()));
            Ok(futures_util::stream::iter(ev).boxed())
        }
        Some(Mode::Fail(e)) => {
            let e = e.lock().unwrap_or_else(|e| e.into_inner()).take();
            Ok(futures_util::stream::iter(e.map(Err)).boxed())
        }
    }
}

fn decode_opt(field: &'static str, id: Option<&ID>, kind: Kind) -> AppResult<Option<i64>> {
    id.map(|i| {
        ids::decode_as(i, kind)
            .map_err(|_| AppError::bad_field(field, format!("`{field}` is not an ID of that kind")))
    })
    .transpose()
}

/// Whether `ev` is of one of `topics` (the stored name read back into the writers' variant).
fn of_topics(ev: &event::Model, topics: &[Topic]) -> bool {
    Topic::parse(&ev.topic).is_some_and(|t| topics.contains(&t))
}

/// Pairs each event with the object it is about, read through the caller's scope.
fn with_object<T, O, F, Fut>(
    stream: impl Stream<Item = AppResult<Arc<event::Model>>> + Send,
    db: DatabaseConnection,
    principal: Principal,
    load: F,
    build: fn(Event, Option<O>) -> T,
) -> impl Stream<Item = Result<T>>
where
    F: Fn(DatabaseConnection, Principal, Arc<event::Model>) -> Fut + Send + Sync + Copy,
    Fut: std::future::Future<Output = AppResult<Option<O>>> + Send,
{
    stream.then(move |item| {
        let (db, principal) = (db.clone(), principal.clone());
        async move {
            let ev = item?;
            let object = load(db, principal, ev.clone()).await?;
            Ok(build(Event::from(ev.as_ref()), object))
        }
    })
}

async fn load_registration(
    db: DatabaseConnection,
    p: Principal,
    ev: Arc<event::Model>,
) -> AppResult<Option<Registration>> {
    let id = ids::decode_as(&ev.subject_id, Kind::Registration)?;
    let mut found = crate::db::registrations::load(&db, &p, &[id]).await?;
    Ok(found.remove(&id).map(Registration::from))
}

async fn load_conflict(
    db: DatabaseConnection,
    p: Principal,
    ev: Arc<event::Model>,
) -> AppResult<Option<Conflict>> {
    let id = ids::decode_as(&ev.subject_id, Kind::Conflict)?;
    let mut found = crate::db::registrations::conflicts::load(&db, &p, &[id]).await?;
    Ok(found.remove(&id).map(Conflict::from))
}

async fn load_opportunity(
    db: DatabaseConnection,
    p: Principal,
    ev: Arc<event::Model>,
) -> AppResult<Option<Opportunity>> {
    let id = ids::decode_as(&ev.subject_id, Kind::Opportunity)?;
    let mut found = crate::db::opportunities::load(&db, &p, &[id]).await?;
    Ok(found.remove(&id).map(Opportunity::from))
}

async fn load_invitation(
    db: DatabaseConnection,
    p: Principal,
    ev: Arc<event::Model>,
) -> AppResult<Option<super::invitation::Invitation>> {
    let id = ids::decode_as(&ev.subject_id, Kind::Invitation)?;
    let mut found = crate::db::invitations::load(&db, &p, &[id]).await?;
    Ok(found.remove(&id).map(Into::into))
}

fn db(ctx: &Context<'_>) -> DatabaseConnection {
    super::db(ctx).clone()
}

/// The deal-level subscriptions share one shape: opportunity events of some topics, optionally
/// for one opportunity.
async fn opportunity_events(
    ctx: &Context<'_>,
    topics: &'static [Topic],
    opportunity_id: Option<ID>,
    after: Option<ID>,
) -> Result<impl Stream<Item = Result<OpportunityEvent>>> {
    let p = principal(ctx);
    p.require_read(Resource::Opportunities)?;
    if topics.contains(&Topic::ThreadingRiskRaised) {
        // Threading describes the contact network: the same scope as the `threading` field.
        p.require_read(Resource::Contacts)?;
    }
    let only = decode_opt("opportunityId", opportunity_id.as_ref(), Kind::Opportunity)?
        .map(|n| ids::encode(Kind::Opportunity, n));
    let wants: Wants = Box::new(move |ev| {
        of_topics(ev, topics) && only.as_deref().is_none_or(|o| ev.subject_id == o)
    });
    let events = feed(ctx, after.as_ref(), wants).await?;
    Ok(with_object(
        events,
        db(ctx),
        p.clone(),
        load_opportunity,
        |event, opportunity| OpportunityEvent { event, opportunity },
    ))
}

#[Subscription]
impl RealtimeSubscription {
    /// Every event you may see, oldest first: the live form of the `events` query. The vendor
    /// hears everything; a partner only of its own registrations and the deals it is on; an app
    /// needs the `events:read` scope. Reconnect with `after` set to the last `id` you received
    /// to get what you missed first.
    async fn events(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The last event id you received; omit it to start with the next event.")]
        after: Option<ID>,
        #[graphql(
            desc = "Only topics starting with one of these, e.g. `registration.` or `conflict.raised`; omit for all."
        )]
        topics: Option<Vec<String>>,
    ) -> Result<impl Stream<Item = Result<Event>>> {
        principal(ctx).require_read(Resource::Events)?;
        let wants: Wants = Box::new(move |ev| {
            topics
                .as_ref()
                .is_none_or(|t| t.iter().any(|p| ev.topic.starts_with(p.as_str())))
        });
        let events = feed(ctx, after.as_ref(), wants).await?;
        Ok(events.map(|item| Ok(Event::from(item?.as_ref()))))
    }

    /// An invitation was made, accepted, declined, withdrawn or expired. The vendor hears of
    /// every invitation; a partner only of those made to it. Needs `registrations:read` for
    /// apps.
    async fn invitation_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only changes into one of these statuses (OPEN: new invitations).")]
        status: Option<Vec<entity::enums::InvitationStatus>>,
        #[graphql(desc = "The last event id you received; omit it to start with the next event.")]
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<InvitationEvent>>> {
        let p = principal(ctx);
        p.require_read(Resource::Registrations)?;
        let wants: Wants = Box::new(move |ev| {
            matches!(
                Topic::parse(&ev.topic),
                Some(Topic::Invitation(s)) if status.as_ref().is_none_or(|want| want.contains(&s))
            )
        });
        let events = feed(ctx, after.as_ref(), wants).await?;
        Ok(with_object(
            events,
            db(ctx),
            p.clone(),
            load_invitation,
            |event, invitation| InvitationEvent { event, invitation },
        ))
    }

    /// A registration moved to another status (submitted, approved, rejected, expired, ...).
    /// A partner hears only of its own registrations; the vendor of all. Needs
    /// `registrations:read` for apps.
    async fn registration_status_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only registrations on this opportunity.")] opportunity_id: Option<ID>,
        #[graphql(desc = "Only changes into one of these statuses.")] status: Option<
            Vec<RegistrationStatus>,
        >,
        #[graphql(desc = "The last event id you received; omit it to start with the next event.")]
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<RegistrationEvent>>> {
        let p = principal(ctx);
        p.require_read(Resource::Registrations)?;
        let only = decode_opt("opportunityId", opportunity_id.as_ref(), Kind::Opportunity)?
            .map(|n| ids::encode(Kind::Opportunity, n));
        let wants: Wants = Box::new(move |ev| {
            // Status transitions only: drafts and protection changes are not status changes
            // (the `events` stream has those).
            let transition = matches!(
                Topic::parse(&ev.topic),
                Some(Topic::Registration(s)) if s != RegistrationStatus::Draft
            );
            transition
                && RegistrationTransition::read(&ev.payload).is_some_and(|t| {
                    only.as_deref()
                        .is_none_or(|o| t.registration.opportunity_id.as_deref() == Some(o))
                        && status
                            .as_ref()
                            .is_none_or(|s| s.contains(&t.registration.status))
                })
        });
        let events = feed(ctx, after.as_ref(), wants).await?;
        Ok(with_object(
            events,
            db(ctx),
            p.clone(),
            load_registration,
            |event, registration| RegistrationEvent {
                event,
                registration,
            },
        ))
    }

    /// A conflict was raised on one of the registrations you may see, or resolved. Needs
    /// `registrations:read` for apps.
    async fn conflict_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "Only conflicts now in this status (OPEN = raised, RESOLVED = resolved)."
        )]
        status: Option<ConflictStatus>,
        #[graphql(desc = "The last event id you received; omit it to start with the next event.")]
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<ConflictEvent>>> {
        let p = principal(ctx);
        p.require_read(Resource::Registrations)?;
        let topics: &'static [Topic] = match status {
            None => &[Topic::ConflictRaised, Topic::ConflictResolved],
            Some(ConflictStatus::Open) => &[Topic::ConflictRaised],
            Some(_) => &[Topic::ConflictResolved],
        };
        let wants: Wants = Box::new(move |ev| of_topics(ev, topics));
        let events = feed(ctx, after.as_ref(), wants).await?;
        Ok(with_object(
            events,
            db(ctx),
            p.clone(),
            load_conflict,
            |event, conflict| ConflictEvent { event, conflict },
        ))
    }

    /// The shared state of a deal changed: created, updated or moved to another stage. A
    /// partner hears of the deals it is on, and sees their shared state only. Needs
    /// `opportunities:read` for apps.
    async fn opportunity_changed(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this opportunity.")] opportunity_id: Option<ID>,
        #[graphql(desc = "The last event id you received; omit it to start with the next event.")]
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<OpportunityEvent>>> {
        opportunity_events(
            ctx,
            &[
                Topic::OpportunityCreated,
                Topic::OpportunityUpdated,
                Topic::OpportunityStageChanged,
            ],
            opportunity_id,
            after,
        )
        .await
    }

    /// A deal's threading score fell below the risky line (a new single-threaded or stale
    /// deal); the opportunity's `threading` field names the risks. Apps need
    /// `opportunities:read` and `contacts:read`.
    async fn threading_risk_raised(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this opportunity.")] opportunity_id: Option<ID>,
        #[graphql(desc = "The last event id you received; omit it to start with the next event.")]
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<OpportunityEvent>>> {
        opportunity_events(ctx, &[Topic::ThreadingRiskRaised], opportunity_id, after).await
    }

    /// A deal's attribution was frozen when it closed won (`attribution.finalized`) or later
    /// corrected by the vendor (`attribution.corrected`); read your share from the
    /// opportunity's `attribution` field. Needs `opportunities:read` for apps.
    async fn attribution_finalized(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Only this opportunity.")] opportunity_id: Option<ID>,
        #[graphql(desc = "The last event id you received; omit it to start with the next event.")]
        after: Option<ID>,
    ) -> Result<impl Stream<Item = Result<OpportunityEvent>>> {
        opportunity_events(
            ctx,
            &[Topic::AttributionFinalized, Topic::AttributionCorrected],
            opportunity_id,
            after,
        )
        .await
    }
}

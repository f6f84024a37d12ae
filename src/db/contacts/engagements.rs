//! Engagements: a party's touches with contacts. A partner records and reads only its own;
//! notes are visible to the party that wrote them and to the vendor.

use std::collections::HashMap;

use chrono::{NaiveDate, Utc};
use entity::engagement::{ActiveModel, Column, Entity, Model};
use entity::enums::{EngagementKind, Sentiment};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Select, Set,
};

use crate::auth::Principal;
use crate::auth::{can, Grant};
use crate::db::events::payload;
use crate::db::events::{self, NewEvent};
use crate::domain::text;
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// The engagements `principal` may see: all for the vendor, its own for a partner.
pub fn scope(principal: &Principal) -> Condition {
    crate::auth::scope::condition::<crate::auth::scope::Engagements>(principal)
}

/// The engagements `principal` may see, as a query (any caller; its scope rule filters).
pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(scope(principal))
}

/// The visible engagements with each contact among `ids`, newest first.
pub async fn load_by_contact(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<Model>>> {
    let rows = visible(principal)
        .filter(Column::ContactId.is_in(ids.to_vec()))
        .order_by_desc(Column::OccurredOn)
        .order_by_desc(Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<Model>> = HashMap::new();
    for r in rows {
        out.entry(r.contact_id).or_default().push(r);
    }
    Ok(out)
}

/// The engagements among `ids` that the principal may see.
pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    principal.require_read(crate::auth::Resource::Contacts)?;
    let rows = visible(principal)
        .filter(Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// A touch with a contact, recorded by the caller's party.
#[derive(Debug)]
pub struct RecordEngagement {
    /// The contact (one the caller can see): its global ID, decoded here.
    pub contact_id: String,
    /// MEETING, CALL, EMAIL, DEMO, EVENT or WORKSHOP.
    pub kind: EngagementKind,
    /// When it happened (not in the future).
    pub occurred_on: NaiveDate,
    /// How the contact came across.
    pub sentiment: Sentiment,
    /// The deal it was about, if any (one the caller can see, at the contact's account): its
    /// global ID, decoded here.
    pub opportunity_id: Option<String>,
    /// Notes only the caller's party and the vendor can read (at most 4000 characters).
    pub notes: Option<String>,
}

/// Records an engagement with a contact (vendor people, or a partner on contacts it sees, through
/// the `WriteContacts` grant); returns it.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn record(
    db: &DatabaseConnection,
    grant: &Grant<can::WriteContacts>,
    input: RecordEngagement,
    window: super::network::ThreadingWindow,
) -> AppResult<Model> {
    let principal = grant.principal();
    let notes = text::optional("notes", input.notes.as_deref(), 4000)?;
    if input.occurred_on > Utc::now().date_naive() {
        return Err(AppError::bad_field(
            "occurredOn",
            "an engagement cannot be in the future",
        ));
    }
    let txn = crate::db::begin_write(db).await?;
    let contact = super::get(
        &txn,
        principal,
        ids::decode_field(&input.contact_id, Kind::Contact, "contactId")?,
    )
    .await?;
    let opportunity_id = match &input.opportunity_id {
        Some(o) => {
            let opp = crate::db::opportunities::visible(principal)
                .filter(entity::opportunity::Column::Id.eq(ids::decode_field(
                    o,
                    Kind::Opportunity,
                    "opportunityId",
                )?))
                .one(&txn)
                .await?
                .ok_or(AppError::NotFound("Opportunity"))?;
            if opp.account_id != contact.account_id {
                return Err(AppError::bad_field(
                    "opportunityId",
                    "the opportunity is at another account",
                ));
            }
            Some(opp.id)
        }
        None => None,
    };
    let e = ActiveModel {
        contact_id: Set(contact.id),
        account_id: Set(contact.account_id),
        partner_id: Set(principal.partner_id()),
        opportunity_id: Set(opportunity_id),
        kind: Set(input.kind),
        occurred_on: Set(input.occurred_on),
        sentiment: Set(input.sentiment),
        notes: Set(notes),
        created_by: Set(principal.subject.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    events::append(
        &txn,
        principal,
        NewEvent::new(
            events::Topic::EngagementRecorded,
            crate::auth::scope::heard::<crate::auth::scope::Engagements, _>(&txn, &e).await?,
            ids::encode(Kind::Engagement, e.id),
            &payload::EngagementRecorded {
                contact_id: ids::encode(Kind::Contact, contact.id),
                kind: e.kind,
                occurred_on: e.occurred_on,
                sentiment: e.sentiment,
            },
        ),
    )
    .await?;
    super::network::refresh_scores(&txn, principal, contact.account_id, window).await?;
    txn.commit().await?;
    Ok(e)
}

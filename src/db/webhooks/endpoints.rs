//! The owners' side of webhook endpoints: register, change, pause and resume, rotate the
//! secret, replay, delete. Each takes the `ManageWebhooks` grant, reads the endpoint through the
//! read rule, and writes it with its `webhook.endpoint_*` event in one transaction.

use super::*;

/// Checks topic prefixes: each non-empty, at most 100 characters, at most [`MAX_TOPICS`].
fn check_topics(topics: &[String]) -> AppResult<Vec<String>> {
    if topics.len() > MAX_TOPICS {
        return Err(AppError::bad_field(
            "topics",
            format!("at most {MAX_TOPICS} topic prefixes"),
        ));
    }
    let mut out = Vec::new();
    for t in topics {
        let t = t.trim();
        if t.is_empty() || t.len() > 100 || t.chars().any(char::is_whitespace) {
            return Err(AppError::bad_field(
                "topics",
                "a topic prefix is 1 to 100 characters without spaces, e.g. `registration.` or `conflict.raised`",
            ));
        }
        if !out.iter().any(|o: &String| o == t) {
            out.push(t.to_string());
        }
    }
    Ok(out)
}

/// A new endpoint.
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    pub topics: Vec<String>,
    /// The vendor registering for one partner's view.
    pub partner: Option<i64>,
    /// Deliver the events after this outbox id (default: from the next one).
    pub after: Option<i64>,
}

/// Registers an endpoint for the grant's holder; returns it with its secret (shown this once).
pub async fn create(
    db: &DatabaseConnection,
    grant: &Grant<can::ManageWebhooks>,
    settings: &crate::config::WebhookArgs,
    input: NewEndpoint,
) -> AppResult<(Model, String)> {
    let principal = grant.principal();
    let owner = <WebhookEndpoints as scope::Rule>::view(principal);
    let (view, partner) = deliver_view(db, &owner, input.partner).await?;
    let topics = check_new(settings, &input)?;
    let cursor = match input.after {
        Some(a) => {
            events::check_cursor(db, a).await?;
            a
        }
        None => events::last_id(db).await?,
    };
    let secret = crate::domain::webhook::signature::new_secret().map_err(AppError::Internal)?;
    let txn = crate::db::begin_write(db).await?;
    check_room(&txn, principal.partner_id(), settings).await?;
    let row = NewRow {
        input,
        topics,
        owner: principal.partner_id(),
        app: match owner {
            Owner::Own { app, .. } => app,
            Owner::Everyone | Owner::Nobody => None,
        },
        view,
        partner,
        scopes: principal
            .scopes
            .as_ref()
            .map(|s| s.iter().cloned().collect::<Vec<_>>().join(" ")),
        secret: secret.clone(),
        cursor,
    }
    .into_active()
    .insert(&txn)
    .await?;
    events::append(
        &txn,
        principal,
        changed(Topic::WebhookEndpointCreated, &row),
    )
    .await?;
    txn.commit().await?;
    Ok((row, secret))
}

/// Whose view a new endpoint's deliveries take, and whose partner's, for the holder whose
/// endpoints are `owner`: the vendor's people register for the vendor's view or (naming it)
/// one partner's; a partner's people for their partner's; an app for its own view.
async fn deliver_view(
    db: &DatabaseConnection,
    owner: &Owner,
    named: Option<i64>,
) -> AppResult<(WebhookView, Option<i64>)> {
    match (owner, named) {
        (Owner::Everyone, None) => Ok((WebhookView::Vendor, None)),
        (Owner::Everyone, Some(p)) => {
            if entity::partner::Entity::find_by_id(p)
                .one(db)
                .await?
                .is_none()
            {
                return Err(AppError::bad_field("partnerId", "no such partner"));
            }
            Ok((WebhookView::Partner, Some(p)))
        }
        (
            Owner::Own {
                partner: Some(me),
                app: None,
            },
            None,
        ) => Ok((WebhookView::Partner, Some(*me))),
        (
            Owner::Own {
                partner: Some(me),
                app: None,
            },
            Some(p),
        ) if p == *me => Ok((WebhookView::Partner, Some(*me))),
        (
            Owner::Own {
                partner,
                app: Some(_),
            },
            None,
        ) => Ok((WebhookView::App, *partner)),
        _ => Err(AppError::bad_field(
            "partnerId",
            "only the vendor registers endpoints for a partner",
        )),
    }
}

/// Checks a new endpoint's URL, topics and description; returns its topics.
fn check_new(settings: &crate::config::WebhookArgs, input: &NewEndpoint) -> AppResult<Vec<String>> {
    crate::domain::webhook::target::check_url(&input.url, settings.policy())
        .map_err(|m| AppError::bad_field("url", m))?;
    let topics = check_topics(&input.topics)?;
    if input.description.chars().count() > 500 {
        return Err(AppError::bad_field("description", "at most 500 characters"));
    }
    Ok(topics)
}

/// Refuses a new endpoint when the party (`owner`: a partner, or `None` for the vendor)
/// already has the most allowed.
async fn check_room(
    txn: &sea_orm::DatabaseTransaction,
    owner: Option<i64>,
    settings: &crate::config::WebhookArgs,
) -> AppResult<()> {
    let owned = Entity::find()
        .filter(match owner {
            Some(p) => Column::OwnerPartnerId.eq(p),
            None => Column::OwnerPartnerId.is_null(),
        })
        .count(txn)
        .await?;
    if owned >= settings.webhook_max_endpoints as u64 {
        return Err(AppError::Conflict(format!(
            "this party already has {} webhook endpoints, the most allowed; delete one first",
            settings.webhook_max_endpoints
        )));
    }
    Ok(())
}

/// A new endpoint's row, before it is stored.
struct NewRow {
    input: NewEndpoint,
    topics: Vec<String>,
    owner: Option<i64>,
    app: Option<String>,
    view: WebhookView,
    partner: Option<i64>,
    scopes: Option<String>,
    secret: String,
    cursor: i64,
}

impl NewRow {
    fn into_active(self) -> ActiveModel {
        let now = Utc::now();
        ActiveModel {
            url: Set(self.input.url),
            description: Set(self.input.description),
            topics: Set(serde_json::json!(self.topics)),
            owner_partner_id: Set(self.owner),
            owner_app: Set(self.app),
            deliver_kind: Set(self.view),
            deliver_partner_id: Set(self.partner),
            deliver_scopes: Set(self.scopes),
            status: Set(Status::Active),
            disabled_reason: Set(None),
            secret: Set(self.secret),
            previous_secret: Set(None),
            previous_secret_expires_at: Set(None),
            cursor: Set(self.cursor),
            attempts: Set(0),
            next_attempt_at: Set(now),
            failing_since: Set(None),
            locked_by: Set(None),
            locked_until: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
    }
}

/// Changes to an endpoint; `None` keeps a field.
#[derive(Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub topics: Option<Vec<String>>,
    /// `true` turns a disabled endpoint on again (its pending event is tried at once);
    /// `false` pauses deliveries.
    pub enabled: Option<bool>,
}

/// Reads the caller's endpoint `id` in `txn` and checks `expected` against its version.
async fn managed_in(
    txn: &sea_orm::DatabaseTransaction,
    grant: &Grant<can::ManageWebhooks>,
    id: i64,
    expected: i32,
) -> AppResult<Model> {
    let row = Entity::find_by_id(id)
        .filter(managed(grant))
        .one(txn)
        .await?
        .ok_or(AppError::NotFound("webhook endpoint"))?;
    crate::db::check_version("webhook endpoint", expected, row.version)?;
    Ok(row)
}

/// Writes `changes` to the endpoint at `expected` and appends its event, in `txn`.
async fn save(
    txn: sea_orm::DatabaseTransaction,
    grant: &Grant<can::ManageWebhooks>,
    mut changes: ActiveModel,
    id: i64,
    expected: i32,
    topic: Topic,
) -> AppResult<Model> {
    changes.updated_at = Set(Utc::now());
    // The dispatcher's lease ends: the next round delivers as the owner now says.
    changes.locked_by = Set(None);
    changes.locked_until = Set(None);
    let row = crate::db::update_versioned::<Entity, _>(
        &txn,
        "webhook endpoint",
        changes,
        Column::Id,
        Column::Version,
        id,
        expected,
    )
    .await?;
    events::append(&txn, grant.principal(), changed(topic, &row)).await?;
    txn.commit().await?;
    Ok(row)
}

/// Changes an endpoint the grant's holder manages, at version `expected`.
pub async fn update(
    db: &DatabaseConnection,
    grant: &Grant<can::ManageWebhooks>,
    settings: &crate::config::WebhookArgs,
    id: i64,
    expected: i32,
    c: EndpointChanges,
) -> AppResult<Model> {
    let mut changes = <ActiveModel as Default>::default();
    if let Some(url) = c.url {
        crate::domain::webhook::target::check_url(&url, settings.policy())
            .map_err(|m| AppError::bad_field("url", m))?;
        changes.url = Set(url);
    }
    if let Some(d) = c.description {
        if d.chars().count() > 500 {
            return Err(AppError::bad_field("description", "at most 500 characters"));
        }
        changes.description = Set(d);
    }
    if let Some(t) = c.topics {
        changes.topics = Set(serde_json::json!(check_topics(&t)?));
    }
    let txn = crate::db::begin_write(db).await?;
    let row = managed_in(&txn, grant, id, expected).await?;
    match c.enabled {
        Some(true) if row.status != Status::Active => {
            changes.status = Set(Status::Active);
            changes.disabled_reason = Set(None);
            changes.attempts = Set(0);
            changes.failing_since = Set(None);
            changes.next_attempt_at = Set(Utc::now());
        }
        Some(false) if row.status == Status::Active => {
            changes.status = Set(Status::Disabled);
            changes.disabled_reason = Set(Some("paused by its owner".into()));
        }
        _ => {}
    }
    save(
        txn,
        grant,
        changes,
        id,
        expected,
        Topic::WebhookEndpointUpdated,
    )
    .await
}

/// A new secret; the old one keeps signing (as a second signature) for `overlap`.
pub async fn rotate_secret(
    db: &DatabaseConnection,
    grant: &Grant<can::ManageWebhooks>,
    id: i64,
    expected: i32,
    overlap: Duration,
) -> AppResult<(Model, String)> {
    let secret = crate::domain::webhook::signature::new_secret().map_err(AppError::Internal)?;
    let txn = crate::db::begin_write(db).await?;
    let row = managed_in(&txn, grant, id, expected).await?;
    let changes = ActiveModel {
        secret: Set(secret.clone()),
        previous_secret: Set((overlap > Duration::zero()).then(|| row.secret.clone())),
        previous_secret_expires_at: Set((overlap > Duration::zero()).then(|| Utc::now() + overlap)),
        ..Default::default()
    };
    let row = save(
        txn,
        grant,
        changes,
        id,
        expected,
        Topic::WebhookEndpointUpdated,
    )
    .await?;
    Ok((row, secret))
}

/// Delivers again everything after `after` (receivers deduplicate by `webhook-id`), or tries
/// the pending event at once when `after` is `None`.
pub async fn rewind(
    db: &DatabaseConnection,
    grant: &Grant<can::ManageWebhooks>,
    id: i64,
    expected: i32,
    after: Option<i64>,
) -> AppResult<Model> {
    if let Some(a) = after {
        events::check_cursor(db, a).await?;
    }
    let txn = crate::db::begin_write(db).await?;
    managed_in(&txn, grant, id, expected).await?;
    let mut changes = ActiveModel {
        next_attempt_at: Set(Utc::now()),
        ..Default::default()
    };
    if let Some(a) = after {
        changes.cursor = Set(a);
        changes.attempts = Set(0);
        changes.failing_since = Set(None);
    }
    save(
        txn,
        grant,
        changes,
        id,
        expected,
        Topic::WebhookEndpointUpdated,
    )
    .await
}

/// Deletes an endpoint the grant's holder manages, with its delivery log.
pub async fn delete(
    db: &DatabaseConnection,
    grant: &Grant<can::ManageWebhooks>,
    id: i64,
    expected: i32,
) -> AppResult<Model> {
    let txn = crate::db::begin_write(db).await?;
    let row = managed_in(&txn, grant, id, expected).await?;
    attempt::Entity::delete_many()
        .filter(attempt::Column::EndpointId.eq(id))
        .exec(&txn)
        .await?;
    let gone = Entity::delete_many()
        .filter(Column::Id.eq(id))
        .filter(Column::Version.eq(expected))
        .exec(&txn)
        .await?;
    if gone.rows_affected != 1 {
        return Err(AppError::VersionMismatch {
            kind: "webhook endpoint",
            expected,
            current: expected + 1,
        });
    }
    events::append(
        &txn,
        grant.principal(),
        changed(Topic::WebhookEndpointDeleted, &row),
    )
    .await?;
    txn.commit().await?;
    Ok(row)
}

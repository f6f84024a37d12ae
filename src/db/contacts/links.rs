//! Links between contacts at one account: who reports to whom, who influences whom, who works
//! with whom.

use chrono::Utc;
use entity::contact::Column;
use entity::contact_link;
use entity::enums::ContactLinkKind;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect,
    QueryTrait, Set,
};

use crate::auth::{can, Grant};
use crate::db::events::payload;
use crate::db::events::{self, NewEvent, Topic};
use crate::domain::threading;
use crate::error::{AppError, AppResult};
use crate::ids::{self, Kind};

/// A link between two contacts at the same account; the contacts are global IDs, decoded
/// here.
#[derive(Debug)]
pub struct LinkContacts {
    /// The contact the link starts from (for REPORTS_TO: the report).
    pub from_contact_id: String,
    /// The contact it points to (for REPORTS_TO: the manager).
    pub to_contact_id: String,
    /// REPORTS_TO, INFLUENCES or WORKS_WITH.
    pub kind: ContactLinkKind,
}

/// Links two contacts at one account (vendor people, or a partner on contacts it sees,
/// through the `WriteContacts` grant); returns the stored link.
#[tracing::instrument(level = "debug", skip_all)]
pub async fn link(
    db: &DatabaseConnection,
    grant: &Grant<can::WriteContacts>,
    input: LinkContacts,
) -> AppResult<contact_link::Model> {
    let principal = grant.principal();
    let txn = crate::db::begin_write(db).await?;
    let from = super::get(
        &txn,
        principal,
        ids::decode_field(&input.from_contact_id, Kind::Contact, "fromContactId")?,
    )
    .await?;
    let to = super::get(
        &txn,
        principal,
        ids::decode_field(&input.to_contact_id, Kind::Contact, "toContactId")?,
    )
    .await?;
    let (a, b) = ends(&from, &to, input.kind)?;
    if input.kind == ContactLinkKind::ReportsTo {
        refuse_cycle(&txn, principal, from.account_id, a, b).await?;
    }
    let link = contact_link::ActiveModel {
        account_id: Set(from.account_id),
        from_contact_id: Set(a),
        to_contact_id: Set(b),
        kind: Set(input.kind),
        created_by: Set(principal.subject.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(&txn)
    .await
    .map_err(|e| AppError::unique_or(e, "these contacts are already linked that way"))?;
    events::append(
        &txn,
        principal,
        NewEvent::new(
            Topic::ContactLinked,
            // The org chart is the vendor's to keep.
            crate::auth::scope::Heard::vendor(crate::auth::scope::Subject::Contact),
            ids::encode(Kind::Contact, from.id),
            &payload::ContactsLinked {
                from: ids::encode(Kind::Contact, a),
                to: ids::encode(Kind::Contact, b),
                kind: input.kind,
            },
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(link)
}

/// The ends a link of `kind` from `from` to `to` is stored with: two contacts at the same
/// account; WORKS_WITH, being symmetric, one way only, so a duplicate is caught either way.
fn ends(
    from: &entity::contact::Model,
    to: &entity::contact::Model,
    kind: ContactLinkKind,
) -> AppResult<(i64, i64)> {
    if from.id == to.id {
        return Err(AppError::bad_field(
            "toContactId",
            "a contact cannot be linked to itself",
        ));
    }
    if from.account_id != to.account_id {
        return Err(AppError::bad_field(
            "toContactId",
            "both contacts must be at the same account",
        ));
    }
    Ok(match kind {
        ContactLinkKind::WorksWith if from.id > to.id => (to.id, from.id),
        _ => (from.id, to.id),
    })
}

/// Refuses a REPORTS_TO link from `a` to `b` that would close a cycle in the org chart as the
/// caller sees it: links between contacts it may see. A cycle through contacts it cannot see
/// is not refused, or the refusal would tell it they exist (the ranking is well defined on any
/// graph).
async fn refuse_cycle(
    txn: &sea_orm::DatabaseTransaction,
    principal: &crate::auth::Principal,
    account_id: i64,
    a: i64,
    b: i64,
) -> AppResult<()> {
    let seen = || {
        super::visible(principal)
            .select_only()
            .column(Column::Id)
            .into_query()
    };
    let reports: Vec<(i64, i64)> = contact_link::Entity::find()
        .filter(contact_link::Column::AccountId.eq(account_id))
        .filter(contact_link::Column::Kind.eq(ContactLinkKind::ReportsTo))
        .filter(contact_link::Column::FromContactId.in_subquery(seen()))
        .filter(contact_link::Column::ToContactId.in_subquery(seen()))
        .all(txn)
        .await?
        .into_iter()
        .map(|l| (l.from_contact_id, l.to_contact_id))
        .collect();
    if threading::reports_to_cycle(&reports, a, b) {
        return Err(AppError::Conflict(
            "this REPORTS_TO link would make the org chart a cycle".into(),
        ));
    }
    Ok(())
}

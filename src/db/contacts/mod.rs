//! Contacts, the links between them and the engagements with them. A partner sees the contacts
//! it sourced and those shared with the parties of deals it is on, and only its own
//! engagements; the vendor sees everything.

pub mod engagements;
pub mod links;
pub mod network;
pub mod writes;

use std::collections::HashMap;

use entity::contact::{Column, Entity, Model};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Select,
};

use crate::auth::{Principal, Resource};
use crate::error::{AppError, AppResult};

pub use crate::auth::scope::accounts_of_partner;

/// The contacts `principal` may see.
pub fn scope(principal: &Principal) -> Condition {
    crate::auth::scope::condition::<crate::auth::scope::Contacts>(principal)
}

pub fn visible(principal: &Principal) -> Select<Entity> {
    Entity::find().filter(scope(principal))
}

pub async fn get<C: ConnectionTrait>(conn: &C, principal: &Principal, id: i64) -> AppResult<Model> {
    principal.require_read(Resource::Contacts)?;
    visible(principal)
        .filter(Column::Id.eq(id))
        .one(conn)
        .await?
        .ok_or(AppError::NotFound("Contact"))
}

pub async fn load(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Model>> {
    let rows = visible(principal)
        .filter(Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|m| (m.id, m)).collect())
}

/// The visible contacts of each account among `ids`, by name.
pub async fn load_by_account(
    db: &DatabaseConnection,
    principal: &Principal,
    ids: &[i64],
) -> AppResult<HashMap<i64, Vec<Model>>> {
    let rows = visible(principal)
        .filter(Column::AccountId.is_in(ids.to_vec()))
        .order_by_asc(Column::Name)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let mut out: HashMap<i64, Vec<Model>> = HashMap::new();
    for r in rows {
        out.entry(r.account_id).or_default().push(r);
    }
    Ok(out)
}

/// Lower-cases and checks an email address.
pub fn email_key(email: &str) -> AppResult<(String, String)> {
    let e = email.trim();
    let (local, domain) = e
        .split_once('@')
        .ok_or_else(|| AppError::bad_field("email", format!("`{e}` is not an email address")))?;
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || e.len() > 254
        || e.contains(char::is_whitespace)
    {
        return Err(AppError::bad_field(
            "email",
            format!("`{e}` is not an email address"),
        ));
    }
    Ok((e.to_string(), e.to_lowercase()))
}

//! `viewer`: who the caller is.

use async_graphql::{Context, Object, Result};

use super::partner::Partner;
use super::{db, principal};
use crate::auth::{PartnerRole, PrincipalKind, VendorRole};
use crate::db::partners;

/// The authenticated caller, as the token describes it.
pub struct Viewer;

/// The authenticated caller, as the token describes it.
#[Object]
impl Viewer {
    /// The token's subject: a user or app identifier.
    async fn subject(&self, ctx: &Context<'_>) -> String {
        principal(ctx).subject.clone()
    }
    /// VENDOR, PARTNER or APP.
    async fn kind(&self, ctx: &Context<'_>) -> PrincipalKind {
        principal(ctx).kind
    }
    /// Your vendor role; null unless you are a vendor user.
    async fn vendor_role(&self, ctx: &Context<'_>) -> Option<VendorRole> {
        principal(ctx).vendor_role
    }
    /// Your role in your partner organisation; null unless you are a partner user.
    async fn partner_role(&self, ctx: &Context<'_>) -> Option<PartnerRole> {
        principal(ctx).partner_role
    }
    /// The partner organisation you act for; null when you act for the vendor.
    async fn partner(&self, ctx: &Context<'_>) -> Result<Option<Partner>> {
        let p = principal(ctx);
        match p.partner_id() {
            Some(id) if p.may_read(crate::auth::Resource::Partners) => {
                Ok(Some(partners::get(db(ctx), p, id).await?.into()))
            }
            _ => Ok(None),
        }
    }
    /// The scopes of an app token; null for people, who are limited by role instead.
    async fn scopes(&self, ctx: &Context<'_>) -> Option<Vec<String>> {
        principal(ctx)
            .scopes
            .as_ref()
            .map(|s| s.iter().cloned().collect())
    }
}

#[derive(Default)]
pub struct ViewerQuery;

#[Object]
impl ViewerQuery {
    /// Who you are: the principal your bearer token names.
    async fn viewer(&self) -> Viewer {
        Viewer
    }
}

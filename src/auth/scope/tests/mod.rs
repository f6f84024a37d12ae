//! The SQL and in-memory forms of every rule agree: generated programs written to a real SQLite
//! file, read back through each rule's condition for every kind of caller, and compared with
//! the in-memory rule applied to every row.

mod agreement;
mod audiences;
mod program;

use entity::{
    account, conflict, contact, engagement, event, invitation, opportunity, partner, registration,
    webhook_endpoint,
};
use sea_orm::DatabaseConnection;
use tempfile::TempDir;

use self::program::{generate, write, Program, PARTNERS};
use super::*;
use crate::auth::{Principal, PrincipalKind, VendorRole};

/// The program of `seed` written to a fresh SQLite file named `file` (kept while the directory
/// lives).
async fn written(seed: u64, file: &str) -> (TempDir, DatabaseConnection, Program) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join(file).display());
    let db = crate::db::connect(&url, 1, Default::default())
        .await
        .unwrap();
    crate::db::migrate(&db).await.unwrap();
    let p = generate(seed);
    write(&db, &p).await;
    (dir, db, p)
}

/// Every kind of caller: the vendor, each partner, a partner with no claims, and apps whose
/// scopes cover some resources and not others.
fn callers() -> Vec<Principal> {
    let mut out = vec![Principal::vendor("admin", VendorRole::Admin)];
    for id in 1..=PARTNERS + 1 {
        out.push(Principal::partner(&format!("rep{id}"), id));
    }
    for (party, scopes) in [
        (Party::Vendor, vec!["opportunities:read", "contacts:read"]),
        (Party::Vendor, vec!["events:read"]),
        (
            Party::Partner(2),
            vec!["registrations:read", "accounts:read", "events:read"],
        ),
        (Party::Partner(3), vec![]),
    ] {
        out.push(Principal {
            subject: "app".into(),
            kind: PrincipalKind::App,
            party,
            vendor_role: None,
            partner_role: None,
            scopes: Some(scopes.into_iter().map(String::from).collect()),
        });
    }
    out
}

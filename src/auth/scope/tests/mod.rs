//! The SQL and in-memory forms of every rule agree: generated programs written to a real SQLite
//! file (or PostgreSQL database, with `COSELL_TEST_DATABASE_URL` set), read back through each rule's condition for every kind of caller, and compared with
//! the in-memory rule applied to every row.

mod agreement;
mod audiences;
mod figures;
mod kept;
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

/// Where a program was written: a SQLite file in a temporary directory, or, with
/// `COSELL_TEST_DATABASE_URL=postgres://…` set, a fresh PostgreSQL database dropped with it.
struct Written {
    _dir: TempDir,
    pg: Option<(String, String)>,
}

impl Drop for Written {
    fn drop(&mut self) {
        if let Some((base, name)) = self.pg.take() {
            // A runtime of its own on its own thread: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    use sea_orm::ConnectionTrait;
                    if let Ok(admin) = sea_orm::Database::connect(&base).await {
                        let drop = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                        let _ = admin.execute_unprepared(&drop).await;
                    }
                });
            })
            .join();
        }
    }
}

/// The program of `seed` written to a fresh database (see [`Written`]), the SQLite one named
/// `file`.
async fn written(seed: u64, file: &str) -> (Written, DatabaseConnection, Program) {
    use sea_orm::ConnectionTrait;
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = match std::env::var("COSELL_TEST_DATABASE_URL") {
        Ok(base) if !base.is_empty() => {
            static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("cosell_scope_{}_{n}", std::process::id());
            let admin = sea_orm::Database::connect(&base).await.unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap();
            admin.close().await.ok();
            let (prefix, _) = base.rsplit_once('/').unwrap();
            (format!("{prefix}/{name}"), Some((base, name)))
        }
        _ => (
            format!("sqlite://{}", dir.path().join(file).display()),
            None,
        ),
    };
    let written = Written { _dir: dir, pg };
    let db = crate::db::connect(&url, 1, Default::default())
        .await
        .unwrap();
    crate::db::migrate(&db).await.unwrap();
    let p = generate(seed);
    write(&db, &p).await;
    (written, db, p)
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

//! What the benchmarks share: tokens signed with a benchmark secret, and the JWT settings that
//! verify them.

use cosell::auth::jwt::{self, Claims};
use cosell::auth::PrincipalKind;
use cosell::config::{JwtArgs, Secret};

/// A token of `kind` with `role`, for `partner` (a global partner ID) if given.
pub fn token(secret: &str, kind: PrincipalKind, role: &str, partner: Option<&str>) -> String {
    let now = jwt::now();
    let c = Claims {
        sub: format!("bench-{role}-{}", partner.unwrap_or("vendor")),
        kind,
        role: Some(role.into()),
        partner_id: partner.map(str::to_string),
        scope: None,
        exp: now + 3600,
        nbf: Some(now),
        iat: Some(now),
        iss: "cosell".into(),
        aud: "cosell-api".into(),
    };
    jwt::mint_hs256(&c, secret).unwrap()
}

/// HS256 verification with `secret`.
#[allow(dead_code)]
pub fn jwt_args(secret: &str) -> JwtArgs {
    JwtArgs {
        jwt_secret: Some(Secret::new(secret)),
        jwt_public_key_file: None,
        jwt_jwks_file: None,
        jwt_algorithm: None,
        jwt_issuer: "cosell".into(),
        jwt_audience: "cosell-api".into(),
        jwt_leeway_seconds: 30,
    }
}

/// A running server for a benchmark; dropping `stop` (or sending on it) ends it.
#[allow(dead_code)]
pub struct Server {
    pub url: String,
    pub stop: tokio::sync::oneshot::Sender<()>,
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Starts a server on `conn` with the rate limit off, verifying tokens signed with `secret`.
#[allow(dead_code)]
pub async fn serve(
    conn: sea_orm::DatabaseConnection,
    counter: cosell::db::StatementCounter,
    secret: &str,
) -> Server {
    let limits = cosell::config::LimitArgs {
        rate_limit_per_minute: 0,
        ..Default::default()
    };
    let state = cosell::AppState::new(
        conn,
        cosell::auth::jwt::Verifier::from_config(&jwt_args(secret), false).unwrap(),
        limits,
        Default::default(),
        Default::default(),
        counter,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(cosell::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Server {
        url: format!("http://{addr}/graphql"),
        stop,
        task,
    }
}

/// A new, empty database named `name` next to `base` (PostgreSQL; dropped first if it exists),
/// or a SQLite file in `dir` without `base`.
#[allow(dead_code)]
pub async fn fresh_database(base: Option<&str>, name: &str, dir: &std::path::Path) -> String {
    use sea_orm::ConnectionTrait;
    match base {
        Some(b) => {
            let admin = sea_orm::Database::connect(b).await.unwrap();
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            let (prefix, _) = b.rsplit_once('/').unwrap();
            format!("{prefix}/{name}")
        }
        None => format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
    }
}

/// Drops database `name` next to `base` (PostgreSQL only).
#[allow(dead_code)]
pub async fn drop_database(base: Option<&str>, name: &str) {
    use sea_orm::ConnectionTrait;
    if let Some(b) = base {
        let admin = sea_orm::Database::connect(b).await.unwrap();
        let _ = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await;
    }
}

/// The `p`-th quantile of sorted `v`.
#[allow(dead_code)]
pub fn percentile(v: &[f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v[((v.len() - 1) as f64 * p).round() as usize]
}

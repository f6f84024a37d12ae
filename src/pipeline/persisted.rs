//! Persisted documents: a request may name its document instead of sending it, on every
//! transport (`POST` and `GET /graphql`, WebSocket, Server-Sent Events).
//!
//! - **Automatic persisted queries** (Apollo's protocol, on by default): the client sends
//!   `extensions.persistedQuery = { version: 1, sha256Hash }` without `query`; an unknown hash is
//!   answered with `PERSISTED_QUERY_NOT_FOUND`, and the client sends the hash with the query
//!   once, which registers it. Registered documents live in the database, so every instance
//!   knows them, at most `--persisted-queries-max` of them (the oldest go first); each instance
//!   keeps the ones it used in a bounded memory cache.
//! - **Trusted documents** (`--trusted-documents FILE`, a manifest as Apollo's or Relay's tools
//!   write it): only the listed documents run, named by id (`documentId`, `doc_id` or the
//!   persisted-query hash) or sent in full; any other document is refused before it is parsed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::limits::Refusal;
use crate::config::{HttpArgs, PersistedQueryMode};
use crate::error::code;

/// One operation as the client sent it, kept so that a write can be prepared again.
#[derive(Clone, Debug, Default)]
pub struct Operation {
    pub query: String,
    pub operation_name: Option<String>,
    pub variables: Map<String, Value>,
}

/// The error codes of persisted documents, as Apollo's clients and router know them.
pub mod codes {
    /// The hash is not registered: send it again with the query.
    pub const NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    /// Automatic persisted queries are turned off: send the query.
    pub const NOT_SUPPORTED: &str = "PERSISTED_QUERY_NOT_SUPPORTED";
    /// Trusted documents only: the id names no listed document.
    pub const NOT_IN_LIST: &str = "PERSISTED_QUERY_NOT_IN_LIST";
    /// Trusted documents only: the document sent is not a listed one.
    pub const QUERY_NOT_IN_LIST: &str = "QUERY_NOT_IN_PERSISTED_QUERY_LIST";
}

/// Bytes of documents an instance keeps in memory; past it the cache starts again empty.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

/// One operation as a client submitted it: the document, or a name for it, or both.
#[derive(Clone, Debug, Default)]
pub struct Submitted {
    pub query: Option<String>,
    pub operation_name: Option<String>,
    pub variables: Map<String, Value>,
    pub reference: Option<Reference>,
}

/// How a request names a persisted document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// The SHA-256 of the document's text, in lower-case hex.
    Sha256(String),
    /// An id of the trusted-documents manifest that is not a `sha256:` hash.
    Id(String),
}

impl Submitted {
    /// Reads the parameters of a JSON request body (or a WebSocket/SSE payload).
    pub fn from_json(obj: &Map<String, Value>) -> Result<Self, String> {
        let query = match obj.get("query") {
            None | Some(Value::Null) => None,
            Some(Value::String(q)) => Some(q.clone()),
            Some(_) => return Err("`query` must be a string".into()),
        };
        let operation_name = match obj.get("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("`operationName` must be a string or null".into()),
        };
        let map_param = |name: &str| match obj.get(name) {
            None | Some(Value::Null) => Ok(Map::new()),
            Some(Value::Object(m)) => Ok(m.clone()),
            Some(_) => Err(format!("`{name}` must be an object or null")),
        };
        let extensions = map_param("extensions")?;
        let id = ["documentId", "doc_id"]
            .iter()
            .find_map(|k| obj.get(*k).filter(|v| !v.is_null()).map(|v| (*k, v)));
        let id = match id {
            None => None,
            Some((_, Value::String(s))) => Some(s.as_str()),
            Some((k, _)) => return Err(format!("`{k}` must be a string")),
        };
        Ok(Self {
            query,
            operation_name,
            variables: map_param("variables")?,
            reference: reference(id, &extensions)?,
        })
    }

    /// Reads the parameters of a `GET` request's query string.
    pub fn from_query_string(
        q: &HashMap<String, String>,
        json_param: impl Fn(&str) -> Result<Map<String, Value>, String>,
    ) -> Result<Self, String> {
        let extensions = json_param("extensions")?;
        let id = q
            .get("documentId")
            .or_else(|| q.get("doc_id"))
            .map(String::as_str)
            .filter(|s| !s.is_empty());
        Ok(Self {
            query: q.get("query").cloned(),
            operation_name: q.get("operationName").filter(|s| !s.is_empty()).cloned(),
            variables: json_param("variables")?,
            reference: reference(id, &extensions)?,
        })
    }
}

/// The persisted document a request names, if any: `documentId`/`doc_id` (`sha256:<hex>` or
/// a manifest id) or `extensions.persistedQuery`.
fn reference(
    id: Option<&str>,
    extensions: &Map<String, Value>,
) -> Result<Option<Reference>, String> {
    if let Some(id) = id {
        return Ok(Some(match id.strip_prefix("sha256:") {
            Some(hex) => Reference::Sha256(hex_hash(hex).ok_or(
                "`documentId` must be `sha256:` followed by 64 hexadecimal digits, or a listed id",
            )?),
            None if id.len() <= 256 => Reference::Id(id.to_string()),
            None => return Err("`documentId` is longer than 256 characters".into()),
        }));
    }
    let Some(pq) = extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let pq = pq
        .as_object()
        .ok_or("`extensions.persistedQuery` must be an object")?;
    if pq.get("version").and_then(Value::as_i64) != Some(1) {
        return Err("`extensions.persistedQuery.version` must be 1".into());
    }
    let hash = pq
        .get("sha256Hash")
        .and_then(Value::as_str)
        .and_then(hex_hash)
        .ok_or("`extensions.persistedQuery.sha256Hash` must be 64 hexadecimal digits")?;
    Ok(Some(Reference::Sha256(hash)))
}

/// `s` in lower case if it is 64 hexadecimal digits.
fn hex_hash(s: &str) -> Option<String> {
    (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| s.to_ascii_lowercase())
}

/// The SHA-256 of `text` in lower-case hex.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// A document to run, and whether running it registers it.
pub struct Resolved {
    pub operation: Operation,
    /// The hash to register once the document passed the checks.
    pub register: Option<String>,
}

/// The trusted documents, by every name a request may use.
#[derive(Debug, Default)]
struct Manifest {
    /// By manifest id and by the SHA-256 of each body.
    by_name: HashMap<String, Arc<str>>,
    /// The SHA-256 of each body, for documents sent in full.
    hashes: std::collections::HashSet<String>,
}

impl Manifest {
    /// Reads Apollo's persisted query manifest (`{"format": "apollo-persisted-query-manifest",
    /// "operations": [{"id", "body", ...}]}`) or a flat `{"id": "document"}` map as Relay and
    /// GraphQL Code Generator write it.
    fn parse(text: &str) -> Result<Self, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let obj = v.as_object().ok_or("the manifest must be a JSON object")?;
        let mut pairs = Vec::new();
        if let Some(ops) = obj.get("operations") {
            let ops = ops.as_array().ok_or("`operations` must be an array")?;
            for (i, op) in ops.iter().enumerate() {
                let id = op.get("id").and_then(Value::as_str);
                let body = op.get("body").and_then(Value::as_str);
                match (id, body) {
                    (Some(id), Some(body)) => pairs.push((id.to_string(), body.to_string())),
                    _ => return Err(format!("operation {i} needs string `id` and `body`")),
                }
            }
        } else {
            for (id, body) in obj {
                let body = body
                    .as_str()
                    .ok_or_else(|| format!("the document of `{id}` must be a string"))?;
                pairs.push((id.clone(), body.to_string()));
            }
        }
        let mut manifest = Self::default();
        for (id, body) in pairs {
            let hash = sha256_hex(&body);
            let body: Arc<str> = body.into();
            let id = id.strip_prefix("sha256:").unwrap_or(&id).to_string();
            let id = hex_hash(&id).unwrap_or(id);
            manifest.by_name.insert(id, body.clone());
            manifest.by_name.insert(hash.clone(), body);
            manifest.hashes.insert(hash);
        }
        Ok(manifest)
    }
}

/// Documents named instead of sent: the mode, the trusted manifest and this instance's cache
/// of registered ones.
#[derive(Debug)]
pub struct Documents {
    automatic: bool,
    trusted: Option<Manifest>,
    max_stored: u32,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    documents: HashMap<String, Arc<str>>,
    bytes: usize,
}

impl Default for Documents {
    fn default() -> Self {
        Self {
            automatic: true,
            trusted: None,
            max_stored: 10_000,
            cache: Mutex::default(),
        }
    }
}

impl Documents {
    /// From the flags; reads the trusted-documents manifest when one is named.
    pub fn from_args(args: &HttpArgs) -> Result<Self, String> {
        let trusted = match &args.trusted_documents {
            None => None,
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "the trusted documents {} cannot be read: {e}",
                        path.display()
                    )
                })?;
                let manifest = Manifest::parse(&text)
                    .map_err(|e| format!("the trusted documents {}: {e}", path.display()))?;
                tracing::info!(
                    documents = manifest.hashes.len(),
                    "only trusted documents are accepted"
                );
                Some(manifest)
            }
        };
        Ok(Self {
            automatic: args.persisted_queries == PersistedQueryMode::Automatic && trusted.is_none(),
            trusted,
            max_stored: args.persisted_queries_max,
            cache: Mutex::default(),
        })
    }

    fn cached(&self, hash: &str) -> Option<Arc<str>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.documents.get(hash).cloned()
    }

    fn remember(&self, hash: String, document: Arc<str>) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.bytes + document.len() > CACHE_BYTES {
            cache.documents.clear();
            cache.bytes = 0;
        }
        cache.bytes += document.len();
        if let Some(old) = cache.documents.insert(hash, document) {
            cache.bytes -= old.len();
        }
    }

    /// The document `s` runs, or why it is refused. Reads the database only for a hash this
    /// instance has not seen.
    pub async fn resolve(
        &self,
        db: &sea_orm::DatabaseConnection,
        s: Submitted,
    ) -> Result<Resolved, Refusal> {
        let Submitted {
            query,
            operation_name,
            variables,
            reference,
        } = s;
        let (query, register) = match &self.trusted {
            Some(manifest) => (Self::trusted(manifest, reference, query)?, None),
            None => self.automatic(db, reference, query).await?,
        };
        Ok(Resolved {
            operation: Operation {
                query,
                operation_name,
                variables,
            },
            register,
        })
    }

    /// The text of a trusted document: named by its id, or sent whole and listed.
    fn trusted(
        manifest: &Manifest,
        reference: Option<Reference>,
        query: Option<String>,
    ) -> Result<String, Refusal> {
        match (reference, query) {
            (Some(r), query) => {
                let name = match &r {
                    Reference::Sha256(h) | Reference::Id(h) => h,
                };
                let Some(body) = manifest.by_name.get(name) else {
                    return Err(refusal(
                        codes::NOT_IN_LIST,
                        format!("no trusted document has the id `{name}`"),
                    ));
                };
                if query.is_some_and(|q| *q != **body) {
                    return Err(refusal(
                        code::BAD_REQUEST,
                        "the query sent is not the trusted document its id names",
                    ));
                }
                Ok(body.to_string())
            }
            (None, Some(q)) if manifest.hashes.contains(&sha256_hex(&q)) => Ok(q),
            (None, Some(_)) => Err(refusal(
                codes::QUERY_NOT_IN_LIST,
                "this server runs only trusted documents, and the query sent is not one of them; send a listed document or its id",
            )),
            (None, None) => Err(no_query()),
        }
    }

    /// The text of a document sent whole or named by its hash (automatic persisted queries),
    /// with the hash to register when it is new here.
    async fn automatic(
        &self,
        db: &sea_orm::DatabaseConnection,
        reference: Option<Reference>,
        query: Option<String>,
    ) -> Result<(String, Option<String>), Refusal> {
        match (reference, query) {
            (None, Some(q)) => Ok((q, None)),
            (None, None) => Err(no_query()),
            (Some(_), _) if !self.automatic => {
                Err(refusal(codes::NOT_SUPPORTED, "PersistedQueryNotSupported"))
            }
            (Some(Reference::Id(id)), _) => Err(refusal(
                codes::NOT_FOUND,
                format!("no persisted document has the id `{id}`; name one by `sha256:<hash>`"),
            )),
            (Some(Reference::Sha256(hash)), Some(q)) => {
                if sha256_hex(&q) != hash {
                    return Err(refusal(
                        code::BAD_REQUEST,
                        "the persisted query's sha256Hash is not the SHA-256 of the query sent",
                    ));
                }
                let register = self.cached(&hash).is_none().then_some(hash);
                Ok((q, register))
            }
            (Some(Reference::Sha256(hash)), None) => {
                if let Some(doc) = self.cached(&hash) {
                    return Ok((doc.to_string(), None));
                }
                match crate::db::persisted::find(db, &hash).await {
                    Ok(Some(doc)) => {
                        let doc: Arc<str> = doc.into();
                        self.remember(hash, doc.clone());
                        Ok((doc.to_string(), None))
                    }
                    Ok(None) => Err(refusal(codes::NOT_FOUND, "PersistedQueryNotFound")),
                    Err(e) => {
                        tracing::warn!(error = %e, "reading a persisted query failed");
                        Err(refusal(
                            code::SERVICE_UNAVAILABLE,
                            crate::error::UNAVAILABLE_MESSAGE,
                        ))
                    }
                }
            }
        }
    }

    /// Registers `document` under `hash` (it passed every check) for every instance. A failure
    /// is logged: the request itself runs, and the client registers again next time.
    pub async fn register(&self, db: &sea_orm::DatabaseConnection, hash: String, document: &str) {
        match crate::db::persisted::register(db, &hash, document, self.max_stored).await {
            Ok(()) => self.remember(hash, document.into()),
            Err(e) => tracing::warn!(error = %e, "registering a persisted query failed"),
        }
    }
}

fn refusal(code: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
        line_col: None,
        limit: None,
    }
}

fn no_query() -> Refusal {
    refusal(
        code::BAD_REQUEST,
        "the request has no `query` (nor a persisted document's id)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn submitted(v: Value) -> Result<Submitted, String> {
        Submitted::from_json(v.as_object().unwrap())
    }

    #[test]
    fn hashes_are_read_from_every_spelling() {
        let h = "A".repeat(64);
        let apq = json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": h } } });
        assert_eq!(
            submitted(apq).unwrap().reference,
            Some(Reference::Sha256("a".repeat(64)))
        );
        let doc = json!({ "documentId": format!("sha256:{h}") });
        assert_eq!(
            submitted(doc).unwrap().reference,
            Some(Reference::Sha256("a".repeat(64)))
        );
        let relay = json!({ "doc_id": "Dashboard_1" });
        assert_eq!(
            submitted(relay).unwrap().reference,
            Some(Reference::Id("Dashboard_1".into()))
        );
        for bad in [
            json!({ "extensions": { "persistedQuery": { "version": 2, "sha256Hash": h } } }),
            json!({ "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "abc" } } }),
            json!({ "extensions": { "persistedQuery": "x" } }),
            json!({ "documentId": "sha256:xyz" }),
            json!({ "documentId": 7 }),
        ] {
            assert!(submitted(bad.clone()).is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn manifests_of_apollo_and_relay_are_read() {
        let apollo = json!({
            "format": "apollo-persisted-query-manifest",
            "version": 1,
            "operations": [{ "id": sha256_hex("{ viewer { kind } }"), "name": "V", "type": "query", "body": "{ viewer { kind } }" }]
        });
        let m = Manifest::parse(&apollo.to_string()).unwrap();
        assert!(m.hashes.contains(&sha256_hex("{ viewer { kind } }")));
        let relay = json!({ "0f3a": "query Q { viewer { kind } }" });
        let m = Manifest::parse(&relay.to_string()).unwrap();
        assert_eq!(&*m.by_name["0f3a"], "query Q { viewer { kind } }");
        assert!(Manifest::parse("[]").is_err());
        assert!(Manifest::parse(r#"{"operations": [{"id": 1}]}"#).is_err());
    }

    #[test]
    fn the_digest_is_sha256() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

//! The two WebSocket subprotocols `/graphql/ws` speaks: `graphql-transport-ws` (the protocol of
//! the `graphql-ws` client library) and the older `graphql-ws` of subscriptions-transport-ws.
//! Both carry the same operations; they differ in message names and close codes.

use crate::pipeline::scan::MAX_JSON_DEPTH;
use serde_json::{json, Map, Value};

/// The subprotocol a connection negotiated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// `graphql-transport-ws`.
    Transport,
    /// `graphql-ws` (subscriptions-transport-ws).
    Legacy,
}

pub const TRANSPORT: &str = "graphql-transport-ws";
pub const LEGACY: &str = "graphql-ws";

/// Close codes, as the graphql-transport-ws specification defines them (the legacy protocol
/// uses the same ones here).
pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const INTERNAL: u16 = 1011;
    /// The server is overloaded for this client: it did not read its messages in time.
    pub const TRY_AGAIN_LATER: u16 = 1013;
    pub const BAD_REQUEST: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    /// The principal lost its access while connected (its partner was suspended).
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL_NOT_ACCEPTABLE: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const SUBSCRIBER_EXISTS: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
}

impl Proto {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            TRANSPORT => Some(Self::Transport),
            LEGACY => Some(Self::Legacy),
            _ => None,
        }
    }
}

/// A message from the client, with both protocols' names mapped onto one set.
#[derive(Debug)]
pub enum Incoming {
    Init(Option<Map<String, Value>>),
    Subscribe {
        id: String,
        payload: crate::pipeline::persisted::Submitted,
    },
    Complete {
        id: String,
    },
    Ping,
    Pong,
    /// Legacy `connection_terminate`.
    Terminate,
}

/// Reads one text frame; the error is the close reason for 4400.
pub fn parse(proto: Proto, text: &str) -> Result<Incoming, String> {
    if crate::pipeline::scan::json_depth(text.as_bytes(), MAX_JSON_DEPTH) > MAX_JSON_DEPTH {
        return Err(format!(
            "Invalid message received: nests arrays and objects deeper than {MAX_JSON_DEPTH} levels"
        ));
    }
    let v: Value = serde_json::from_str(text).map_err(|_| "Invalid message received: not JSON")?;
    let obj = v
        .as_object()
        .ok_or("Invalid message received: not an object")?;
    let ty = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or("Invalid message received: no type")?;
    let id = || -> Result<String, String> {
        match obj.get("id").and_then(Value::as_str) {
            Some(id) if !id.is_empty() => Ok(id.to_string()),
            _ => Err(format!("Invalid message received: `{ty}` needs an id")),
        }
    };
    let subscribe = || -> Result<Incoming, String> {
        let id = id()?;
        let payload = obj
            .get("payload")
            .and_then(Value::as_object)
            .ok_or("Invalid message received: no payload")?;
        let payload = crate::pipeline::persisted::Submitted::from_json(payload)
            .map_err(|m| format!("Invalid message received: payload: {m}"))?;
        if payload.query.is_none() && payload.reference.is_none() {
            return Err("Invalid message received: payload.query must be a string".into());
        }
        Ok(Incoming::Subscribe { id, payload })
    };
    let init = || -> Result<Incoming, String> {
        match obj.get("payload") {
            None | Some(Value::Null) => Ok(Incoming::Init(None)),
            Some(Value::Object(m)) => Ok(Incoming::Init(Some(m.clone()))),
            Some(_) => Err("Invalid message received: init payload must be an object".into()),
        }
    };
    match (proto, ty) {
        (_, "connection_init") => init(),
        (Proto::Transport, "subscribe") | (Proto::Legacy, "start") => subscribe(),
        (Proto::Transport, "complete") | (Proto::Legacy, "stop") => {
            Ok(Incoming::Complete { id: id()? })
        }
        (Proto::Transport, "ping") => Ok(Incoming::Ping),
        (Proto::Transport, "pong") => Ok(Incoming::Pong),
        (Proto::Legacy, "connection_terminate") => Ok(Incoming::Terminate),
        _ => Err(format!("Invalid message received: unexpected type `{ty}`")),
    }
}

/// The bearer token in a `connection_init` payload: `Authorization` (or `authorization`) as
/// `Bearer <JWT>`, exactly as the HTTP header takes it, or `token` / `authToken` as the bare
/// JWT (the keys Apollo Client and urql examples use). An `Authorization` value of another form
/// is refused, as over HTTP.
pub fn token_from_init(payload: &Map<String, Value>) -> Result<Option<String>, String> {
    for key in ["Authorization", "authorization"] {
        if let Some(v) = payload.get(key) {
            let v = v
                .as_str()
                .ok_or("the Authorization value must be `Bearer <JWT>`")?;
            return crate::pipeline::auth::bearer(v)
                .map(|t| Some(t.to_string()))
                .map_err(|e| e.message());
        }
    }
    Ok(["token", "authToken"]
        .iter()
        .find_map(|k| payload.get(*k).and_then(Value::as_str))
        .map(|t| t.trim().to_string()))
}

pub fn ack(_: Proto) -> String {
    json!({ "type": "connection_ack" }).to_string()
}

/// The server's keep-alive message.
pub fn keepalive(proto: Proto) -> String {
    match proto {
        Proto::Transport => json!({ "type": "ping" }),
        Proto::Legacy => json!({ "type": "ka" }),
    }
    .to_string()
}

pub fn pong() -> String {
    json!({ "type": "pong" }).to_string()
}

/// One result of an operation.
pub fn next(proto: Proto, id: &str, payload: Value) -> String {
    let ty = match proto {
        Proto::Transport => "next",
        Proto::Legacy => "data",
    };
    json!({ "type": ty, "id": id, "payload": payload }).to_string()
}

/// [`next`] with a payload already written as JSON (shared by the subscribers of a group).
pub fn next_raw(proto: Proto, id: &str, payload: &str) -> String {
    let ty = match proto {
        Proto::Transport => "next",
        Proto::Legacy => "data",
    };
    let id = serde_json::to_string(id).unwrap_or_else(|_| "\"\"".into());
    let mut out = String::with_capacity(payload.len() + id.len() + 32);
    out.push_str("{\"type\":\"");
    out.push_str(ty);
    out.push_str("\",\"id\":");
    out.push_str(&id);
    out.push_str(",\"payload\":");
    out.push_str(payload);
    out.push('}');
    out
}

/// An operation refused before it ran: `error` with the list of errors, which ends the
/// operation (no `complete` follows), in both protocols.
pub fn refused(id: &str, errors: Value) -> String {
    json!({ "type": "error", "id": id, "payload": errors }).to_string()
}

pub fn complete(id: &str) -> String {
    json!({ "type": "complete", "id": id }).to_string()
}

/// The legacy protocol's refusal of `connection_init`, sent before closing.
pub fn connection_error(message: &str) -> String {
    json!({ "type": "connection_error", "payload": { "message": message } }).to_string()
}

/// A close reason fits in 123 bytes: longer ones are cut at a character boundary.
pub fn reason(text: &str) -> String {
    if text.len() <= 123 {
        return text.to_string();
    }
    let mut end = 123;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_protocols_map_onto_one_set_of_messages() {
        let sub =
            r#"{"type":"subscribe","id":"1","payload":{"query":"subscription { events { id } }"}}"#;
        assert!(matches!(
            parse(Proto::Transport, sub),
            Ok(Incoming::Subscribe { .. })
        ));
        assert!(parse(Proto::Legacy, sub).is_err(), "legacy says start");
        let start = r#"{"type":"start","id":"1","payload":{"query":"{ viewer { kind } }"}}"#;
        assert!(matches!(
            parse(Proto::Legacy, start),
            Ok(Incoming::Subscribe { .. })
        ));
        assert!(matches!(
            parse(Proto::Legacy, r#"{"type":"stop","id":"1"}"#),
            Ok(Incoming::Complete { .. })
        ));
        for bad in [
            "nope",
            "[]",
            r#"{"id":"1"}"#,
            r#"{"type":"subscribe","payload":{"query":"x"}}"#,
            r#"{"type":"subscribe","id":"1","payload":{"query":1}}"#,
            r#"{"type":"next","id":"1"}"#,
        ] {
            assert!(parse(Proto::Transport, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tokens_come_from_the_init_payload_in_the_forms_post_takes() {
        let m = |v: Value| v.as_object().unwrap().clone();
        let token = |v: Value| token_from_init(&m(v));
        assert_eq!(
            token(json!({"Authorization": "Bearer abc"})),
            Ok(Some("abc".into()))
        );
        assert_eq!(
            token(json!({"authorization": "bearer abc"})),
            Ok(Some("abc".into()))
        );
        assert_eq!(token(json!({"token": "abc"})), Ok(Some("abc".into())));
        assert_eq!(token(json!({"authToken": " abc "})), Ok(Some("abc".into())));
        assert_eq!(token(json!({"other": 1})), Ok(None));
        // Authorization as POST takes it, or refused as POST refuses it.
        for bad in [json!("abc"), json!("Basic abc"), json!("Bearer "), json!(1)] {
            let e = token(json!({ "Authorization": bad })).unwrap_err();
            assert!(e.contains("Bearer <JWT>"), "{bad}: {e}");
        }
    }

    #[test]
    fn close_reasons_fit_the_frame() {
        let long = "é".repeat(100);
        let r = reason(&long);
        assert!(r.len() <= 123 && long.starts_with(&r));
    }
}

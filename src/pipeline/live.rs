//! Subscriptions served in groups: every subscriber keeps its own feed of events (its cursor,
//! its catch-up, its scoping, as `realtime::feed` describes), but the answer to one event is
//! worked out once for all the subscribers that would get the same answer, and each of them
//! sends that text under its own operation id.
//!
//! Two subscribers get the same answer when they run the same document with the same
//! variables and read with the same view: the same kind of caller, party, role and scopes
//! ([`Principal::view_key`]), which is everything the resolvers scope their reads by. So the
//! vendor's thousand portal tabs cost one read of an approved registration, each partner's
//! subscribers one more, and nothing crosses from one view to another: a group's answer is
//! resolved with a principal of that view, and a subscriber only asks its group about events its
//! own feed admitted.
//!
//! The variable that feeds the root field's `after` (the resume cursor) is left out of the
//! grouping: it decides where a subscriber starts, not what an event resolves to.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection};
use async_graphql::{Name, Variables};
use async_graphql_value::Value as GqlValue;
use entity::event;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::OnceCell;

use super::answer::graphql_result;
use super::order::Shape;
use super::prepare::Prepared;
use crate::auth::Principal;
use crate::graphql::subscription::Mode;
use crate::realtime::feed::Feed;
use crate::AppState;

/// Answers a group with several subscribers keeps, newest last: subscribers reach an event within moments of each
/// other, and one that falls further behind resolves the event again.
const ANSWERS_KEPT: usize = 16;

/// Bytes of answers a group keeps at most: the oldest go first, so a caller that opens many
/// groups of large answers holds a bounded amount of memory in each.
const ANSWER_BYTES_KEPT: usize = 256 * 1024;

/// What makes two subscriptions' answers the same.
#[derive(Hash, PartialEq, Eq)]
struct Key {
    view: String,
    query: String,
    operation: Option<String>,
    /// The variables but the cursor, as JSON.
    variables: String,
}

/// The subscriptions of this instance that share answers.
#[derive(Default)]
pub struct Groups {
    map: Mutex<HashMap<Arc<Key>, Weak<Group>>>,
    /// Answers worked out (one per event, view and document), and results sent.
    resolved: AtomicU64,
    sent: AtomicU64,
}

impl Groups {
    /// Groups with at least one subscriber.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<Key>, Weak<Group>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One answer: `None` when the event turns out not to be for this subscription (its filters
/// say no), else the JSON of the result.
type Answer = Option<Arc<str>>;

/// Subscriptions that get the same answer to every event.
pub struct Group {
    key: Arc<Key>,
    state: AppState,
    /// A principal of the group's view: the first subscriber's.
    principal: Principal,
    variables: Variables,
    doc: Arc<ExecutableDocument>,
    shape: Shape,
    answers: Mutex<VecDeque<(i64, Arc<OnceCell<Answer>>)>>,
}

impl Drop for Group {
    fn drop(&mut self) {
        let mut map = self.state.live.lock();
        // A subscriber may have started a new group under the key meanwhile.
        if map.get(&self.key).is_some_and(|g| g.strong_count() == 0) {
            map.remove(&self.key);
        }
    }
}

impl Group {
    /// The answer to `ev` for every subscriber of the group, resolved by the first to ask.
    async fn answer(self: &Arc<Self>, ev: &Arc<event::Model>, request_id: &str) -> Answer {
        // A subscriber alone in its group has nobody to keep the answer for.
        if Arc::strong_count(self) == 1 {
            return Box::pin(self.resolve(Mode::Render(ev.clone()), request_id)).await;
        }
        let cell = {
            let mut answers = self.answers.lock().unwrap_or_else(|e| e.into_inner());
            match answers.iter().rev().find(|(id, _)| *id == ev.id) {
                Some((_, cell)) => cell.clone(),
                None => {
                    let bytes = |a: &VecDeque<(i64, Arc<OnceCell<Answer>>)>| {
                        a.iter()
                            .filter_map(|(_, c)| c.get()?.as_ref().map(|t| t.len()))
                            .sum::<usize>()
                    };
                    while answers.len() >= ANSWERS_KEPT
                        || (!answers.is_empty() && bytes(&answers) > ANSWER_BYTES_KEPT)
                    {
                        answers.pop_front();
                    }
                    let cell = Arc::new(OnceCell::new());
                    answers.push_back((ev.id, cell.clone()));
                    cell
                }
            }
        };
        // Boxed: only the first subscriber to ask resolves, and the resolution's future is
        // large; every subscriber's task would otherwise be sized for it.
        cell.get_or_init(|| Box::pin(self.resolve(Mode::Render(ev.clone()), request_id)))
            .await
            .clone()
    }

    /// Runs the group's document in `mode` (one event, or one error) and writes its answer.
    async fn resolve(&self, mode: Mode, request_id: &str) -> Answer {
        let state = &self.state;
        let req = super::context::request(
            state,
            &self.principal,
            self.key.query.clone(),
            self.variables.clone(),
            (*self.doc).clone(),
            self.key.operation.clone(),
            // One event's objects are read at one moment.
            true,
        )
        .data(mode);
        state.live.resolved.fetch_add(1, Ordering::Relaxed);
        let resp = state.schema.execute_stream(req).next().await?;
        let (answer, _) = graphql_result(resp, request_id, &state.metrics, &self.shape);
        Some(serde_json::to_string(&answer).ok()?.into())
    }
}

/// One subscriber: its feed, and the group that answers for it.
pub struct Subscriber {
    feed: Feed,
    group: Arc<Group>,
    request_id: String,
}

/// What a subscriber sends next.
pub enum Next {
    /// A result (`payload` of a `next` message).
    Result(Arc<str>),
    /// A last result, an error; the subscription then completes.
    Last(Arc<str>),
    /// The subscription completes (the server is stopping).
    End,
}

impl Subscriber {
    pub async fn next(&mut self) -> Next {
        loop {
            match self.feed.next().await {
                Ok(Some(ev)) => {
                    if let Some(answer) = self.group.answer(&ev, &self.request_id).await {
                        self.group.state.live.sent.fetch_add(1, Ordering::Relaxed);
                        return Next::Result(answer);
                    }
                }
                Ok(None) => return Next::End,
                Err(e) => {
                    let mode = Mode::Fail(Mutex::new(Some(e)));
                    return match Box::pin(self.group.resolve(mode, &self.request_id)).await {
                        Some(answer) => Next::Last(answer),
                        None => Next::End,
                    };
                }
            }
        }
    }

    /// Subscribers on this instance that share this one's answers (itself included).
    pub fn group_size(&self) -> usize {
        Arc::strong_count(&self.group)
    }
}

/// How a subscription starts.
pub enum Start {
    /// Refused before it ran (validation, limits): the errors.
    Refused(Value),
    /// It answered once without opening a feed (an argument or a scope refused): that
    /// result, then it completes.
    Answered(Arc<str>),
    /// Running.
    Live(Subscriber),
}

/// Starts the subscription `prepared` for `principal`: checks its arguments and scopes, opens
/// its feed and puts it in the group of the subscriptions it shares answers with.
pub async fn start(
    state: &AppState,
    principal: &Principal,
    prepared: Prepared,
    request_id: &str,
) -> Start {
    debug_assert_eq!(prepared.ty, Some(OperationType::Subscription));
    let Prepared { request, shape, .. } = prepared;
    if root_fields(shape.document(), request.operation_name.as_deref()) != 1 {
        state
            .metrics
            .error(crate::error::code::GRAPHQL_VALIDATION_FAILED);
        return Start::Refused(serde_json::json!([super::answer::error(
            crate::error::code::GRAPHQL_VALIDATION_FAILED,
            "a subscription selects exactly one root field (GraphQL specification, \"Single root field\"); subscribe to each separately",
        )]));
    }
    let (query, operation, variables) = (
        request.query.clone(),
        request.operation_name.clone(),
        request.variables.clone(),
    );
    let slot = Arc::new(Mutex::new(None));
    let probed = state
        .schema
        .execute_stream(request.data(Mode::Probe(slot.clone())))
        .next()
        .await;
    if let Some(resp) = probed {
        let (answer, request_error) = graphql_result(resp, request_id, &state.metrics, &shape);
        if request_error {
            return Start::Refused(Value::Array(answer.errors().to_vec()));
        }
        let text = serde_json::to_string(&answer).unwrap_or_else(|_| "{}".into());
        return Start::Answered(text.into());
    }
    let Some(feed) = slot.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        // Every subscription field opens a feed; one that did not has nothing to send.
        return Start::Answered(r#"{"data":null}"#.into());
    };
    let doc = shape.document().clone();
    let cursor = cursor_variable(&doc, operation.as_deref());
    let mut grouped = variables.clone();
    if let Some(name) = &cursor {
        grouped.remove(name);
    }
    let key = Key {
        view: principal.view_key(),
        query,
        operation,
        variables: serde_json::to_string(&grouped.into_value()).unwrap_or_default(),
    };
    let group = join(state, key, |key| Group {
        key,
        state: state.clone(),
        principal: principal.clone(),
        variables,
        doc,
        shape,
        answers: Default::default(),
    });
    Start::Live(Subscriber {
        feed,
        group,
        request_id: request_id.to_string(),
    })
}

/// The realtime figures for `/metrics`: outbox reads, groups, answers.
pub fn render_metrics(state: &AppState) -> String {
    let (tail, catch_up) = state.hub.outbox_reads();
    let live = &state.live;
    let mut out = String::new();
    out.push_str("# HELP cosell_realtime_outbox_reads_total Reads of the events outbox for subscriptions: by the instance's tail (one per wake-up, however many subscribe) and by subscribers catching up from a cursor the tail's memory no longer reaches.\n");
    out.push_str("# TYPE cosell_realtime_outbox_reads_total counter\n");
    let _ = writeln!(
        out,
        "cosell_realtime_outbox_reads_total{{reader=\"tail\"}} {tail}"
    );
    let _ = writeln!(
        out,
        "cosell_realtime_outbox_reads_total{{reader=\"catch_up\"}} {catch_up}"
    );
    out.push_str("# HELP cosell_subscription_groups Groups of open subscriptions that share answers (same view, same document).\n");
    out.push_str("# TYPE cosell_subscription_groups gauge\n");
    let _ = writeln!(out, "cosell_subscription_groups {}", live.len());
    out.push_str("# HELP cosell_subscription_answers_total Answers to events worked out for a group (resolved) and results sent to subscribers (sent).\n");
    out.push_str("# TYPE cosell_subscription_answers_total counter\n");
    let _ = writeln!(
        out,
        "cosell_subscription_answers_total{{kind=\"resolved\"}} {}",
        live.resolved.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        out,
        "cosell_subscription_answers_total{{kind=\"sent\"}} {}",
        live.sent.load(Ordering::Relaxed)
    );
    out
}

/// The live group under `key`, or a new one made by `make`.
fn join(state: &AppState, key: Key, make: impl FnOnce(Arc<Key>) -> Group) -> Arc<Group> {
    let mut map = state.live.lock();
    if let Some(group) = map.get(&key).and_then(Weak::upgrade) {
        return group;
    }
    let key = Arc::new(key);
    let group = Arc::new(make(key.clone()));
    map.insert(key, Arc::downgrade(&group));
    group
}

/// The variable that gives the root field its `after`, when it is used nowhere else in the
/// document (then it cannot change what an event resolves to).
fn cursor_variable(doc: &ExecutableDocument, operation: Option<&str>) -> Option<Name> {
    let op = match operation {
        Some(name) => doc
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name))?,
        None => doc.operations.iter().next()?,
    };
    let mut roots = op.1.node.selection_set.node.items.iter();
    let (Some(root), None) = (roots.next(), roots.next()) else {
        return None;
    };
    let Selection::Field(field) = &root.node else {
        return None;
    };
    let name = field
        .node
        .arguments
        .iter()
        .find_map(|(n, v)| match &v.node {
            GqlValue::Variable(var) if n.node == "after" => Some(var.clone()),
            _ => None,
        })?;
    (uses(doc, &name) == 1).then_some(name)
}

/// The fields the operation selects at its root, through fragments (0 when there is no such
/// operation; a count past 1 stops early).
fn root_fields(doc: &ExecutableDocument, operation: Option<&str>) -> usize {
    let op = match operation {
        Some(name) => doc
            .operations
            .iter()
            .find(|(n, _)| n.map(|n| n.as_str()) == Some(name)),
        None => doc.operations.iter().next(),
    };
    let Some((_, op)) = op else { return 0 };
    let mut count = 0;
    let mut sets = vec![&op.node.selection_set.node];
    // Each fragment is expanded once: the document checks already refused cycles and sizes.
    let mut seen = std::collections::HashSet::new();
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(_) => count += 1,
                Selection::InlineFragment(i) => sets.push(&i.node.selection_set.node),
                Selection::FragmentSpread(f) => {
                    let name = &f.node.fragment_name.node;
                    if let Some(fragment) = doc.fragments.get(name).filter(|_| seen.insert(name)) {
                        sets.push(&fragment.node.selection_set.node);
                    }
                }
            }
            if count > 1 {
                return count;
            }
        }
    }
    count
}

/// How many times the document refers to variable `name` (arguments and directives, at every
/// depth, in every operation and fragment).
fn uses(doc: &ExecutableDocument, name: &Name) -> usize {
    fn in_value(v: &GqlValue, name: &Name) -> usize {
        match v {
            GqlValue::Variable(n) => usize::from(n == name),
            GqlValue::List(items) => items.iter().map(|i| in_value(i, name)).sum(),
            GqlValue::Object(fields) => fields.values().map(|i| in_value(i, name)).sum(),
            _ => 0,
        }
    }
    fn in_directives(
        ds: &[async_graphql::Positioned<async_graphql::parser::types::Directive>],
        name: &Name,
    ) -> usize {
        ds.iter()
            .flat_map(|d| d.node.arguments.iter())
            .map(|(_, v)| in_value(&v.node, name))
            .sum()
    }
    let mut count = 0;
    let mut sets: Vec<&async_graphql::parser::types::SelectionSet> = Vec::new();
    for (_, op) in doc.operations.iter() {
        count += in_directives(&op.node.directives, name);
        sets.push(&op.node.selection_set.node);
    }
    for fragment in doc.fragments.values() {
        count += in_directives(&fragment.node.directives, name);
        sets.push(&fragment.node.selection_set.node);
    }
    while let Some(set) = sets.pop() {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    count += f
                        .node
                        .arguments
                        .iter()
                        .map(|(_, v)| in_value(&v.node, name))
                        .sum::<usize>();
                    count += in_directives(&f.node.directives, name);
                    sets.push(&f.node.selection_set.node);
                }
                Selection::FragmentSpread(s) => count += in_directives(&s.node.directives, name),
                Selection::InlineFragment(i) => {
                    count += in_directives(&i.node.directives, name);
                    sets.push(&i.node.selection_set.node);
                }
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursor(query: &str) -> Option<String> {
        let doc = async_graphql::parser::parse_query(query).unwrap();
        cursor_variable(&doc, None).map(|n| n.to_string())
    }

    #[test]
    fn root_fields_are_counted_through_fragments() {
        let count = |q: &str| root_fields(&async_graphql::parser::parse_query(q).unwrap(), None);
        assert_eq!(count("subscription { events { id } }"), 1);
        assert_eq!(
            count("subscription { ... on Subscription { events { id } } }"),
            1
        );
        assert_eq!(
            count("subscription { ...F } fragment F on Subscription { events { id } }"),
            1
        );
        assert_eq!(count("subscription { events { id } __typename }"), 2);
        assert_eq!(
            count("subscription { a: events { id } ...F } fragment F on Subscription { b: events { id } }"),
            2
        );
    }

    #[test]
    fn only_a_cursor_used_nowhere_else_is_left_out_of_the_grouping() {
        assert_eq!(
            cursor("subscription($a: ID) { events(after: $a) { id } }").as_deref(),
            Some("a")
        );
        assert_eq!(
            cursor("subscription($a: ID, $o: ID) { opportunityChanged(after: $a, opportunityId: $o) { event { id } } }")
                .as_deref(),
            Some("a")
        );
        // The same variable also filters: it changes the answer.
        assert_eq!(
            cursor("subscription($a: ID) { opportunityChanged(after: $a, opportunityId: $a) { event { id } } }"),
            None
        );
        assert_eq!(
            cursor("subscription($a: ID, $t: Boolean) { events(after: $a) { id ... on Event @include(if: $t) { topic } } }")
                .as_deref(),
            Some("a")
        );
        assert_eq!(
            cursor("subscription($a: ID) { events(after: $a) { id ...F } } fragment F on Event { payload @include(if: $a) }"),
            None
        );
        assert_eq!(cursor("subscription { events(after: \"5\") { id } }"), None);
    }
}

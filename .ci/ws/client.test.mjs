// Drives cosell's GraphQL subscriptions (/graphql/ws, graphql-transport-ws) with the real
// `graphql-ws` client library, the one partner developers use, against a running server.
// The environment is program.mjs's, set by .ci/ws/run.sh.
//
// Run with node's test runner: node --test .ci/ws/client.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import * as program from './program.mjs';

const {
  WS_URL, SECRET, TEST_TIMEOUT, WAIT_MS, RUN, REGISTRATION_SUB, EVENTS_SUB,
  mint, gql, eventsAfter, submitRegistration, assertIncreasing,
} = program;
const head = () => program.head(vendor);
const createPartner = (name) => program.createPartner(vendor, name);
const approve = (id, expectedVersion) => program.approve(vendor, id, expectedVersion, 'ws client check');

// --- graphql-ws clients ------------------------------------------------------------------------

const clients = new Set();

/** A graphql-ws client for `token` (null: no connection_init payload at all). */
function connect(token) {
  const closes = [];
  const connected = [];
  const client = createClient({
    url: WS_URL,
    connectionParams: token === null ? undefined : { Authorization: `Bearer ${token}` },
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    on: {
      connected: () => connected.push(Date.now()),
      closed: (event) => closes.push({ code: event?.code, reason: event?.reason }),
    },
  });
  clients.add(client);
  return {
    closes,
    connected,
    subscribe: (query, variables) => new Feed(client, query, variables),
    dispose: async () => {
      clients.delete(client);
      await client.dispose();
    },
  };
}

/** One subscription: collects what arrives and waits for what a test expects. */
class Feed {
  constructor(client, query, variables) {
    this.items = [];
    this.failure = null;
    this.completed = false;
    this.wake = () => {};
    this.stop = client.subscribe(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) this.failure = { next: value };
          else this.items.push(value.data);
          this.wake();
        },
        error: (err) => {
          this.failure = err;
          this.wake();
        },
        complete: () => {
          this.completed = true;
          this.wake();
        },
      },
    );
  }

  /** The first item (in arrival order) matching `pred`, waiting up to WAIT_MS for it. */
  async until(pred, what) {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const hit = this.items.find(pred);
      if (hit) return hit;
      if (this.failure) throw describeFailure(this.failure, what);
      if (this.completed) throw new Error(`subscription completed before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no ${what} within ${WAIT_MS} ms; got ${JSON.stringify(this.items)}`);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Waits until the subscription ends; what sink.error got, or null when it completed. */
  async end(what) {
    const deadline = Date.now() + WAIT_MS;
    while (!this.failure && !this.completed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${what}: still running after ${WAIT_MS} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.failure;
  }

  /** Waits for `n` items in all. */
  async count(n, what) {
    await this.until(() => this.items.length >= n, what);
    return this.items.slice(0, n);
  }
}

function describeFailure(err, what) {
  if (err && typeof err === 'object' && 'code' in err && 'reason' in err) {
    return new Error(`socket closed ${err.code} (${err.reason}) while waiting for ${what}`);
  }
  if (Array.isArray(err)) return new Error(`error message while waiting for ${what}: ${JSON.stringify(err)}`);
  if (err && typeof err === 'object' && 'next' in err) {
    return new Error(`next with errors while waiting for ${what}: ${JSON.stringify(err.next)}`);
  }
  return err instanceof Error ? err : new Error(`${what}: ${JSON.stringify(err)}`);
}

// --- the program: a vendor admin and two partners ----------------------------------------------

let vendor;
let partnerA;
let partnerB;
let tokenA;
let tokenB;

before(async () => {
  vendor = mint(['--vendor', '--role', 'ADMIN']);
  partnerA = await createPartner(`WS Partner A ${RUN}`);
  partnerB = await createPartner(`WS Partner B ${RUN}`);
  tokenA = mint(['--partner', partnerA.id, '--role', 'PARTNER_ADMIN']);
  tokenB = mint(['--partner', partnerB.id, '--role', 'PARTNER_ADMIN']);
});

after(async () => {
  await Promise.allSettled([...clients].map((c) => c.dispose()));
});

// --- tests -------------------------------------------------------------------------------------

test('the vendor hears a registration submitted and approved; the partner hears its approval', { timeout: TEST_TIMEOUT }, async () => {
  const cursor = await head();
  const v = connect(vendor);
  const a = connect(tokenA);
  try {
    const vendorFeed = v.subscribe(REGISTRATION_SUB, { after: cursor });
    // The partner only wants approvals: the `status` filter must hold back the submission.
    const partnerFeed = a.subscribe(REGISTRATION_SUB, { after: cursor, status: ['APPROVED'] });

    const reg = await submitRegistration(tokenA, `a-${RUN}.example`, `ws-a-${RUN}`);
    assert.equal(reg.status, 'SUBMITTED', 'SERVICES is not auto-approved by default');

    const submitted = await vendorFeed.until(
      (d) => d.registrationStatusChanged.event.topic === 'registration.submitted' &&
        d.registrationStatusChanged.event.subjectId === reg.id,
      `registration.submitted for ${reg.id}`,
    );
    const s = submitted.registrationStatusChanged;
    assert.equal(s.registration.id, reg.id);
    assert.equal(s.event.payload.to, 'SUBMITTED');
    assert.match(s.event.id, /^\d+$/);
    assert.match(s.event.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

    const approved = await approve(reg.id, reg.version);
    assert.equal(approved.status, 'APPROVED');

    const heard = await vendorFeed.until(
      (d) => d.registrationStatusChanged.event.topic === 'registration.approved' &&
        d.registrationStatusChanged.event.subjectId === reg.id,
      `registration.approved for ${reg.id}`,
    );
    const h = heard.registrationStatusChanged;
    assert.equal(h.registration.id, reg.id);
    assert.equal(h.registration.status, 'APPROVED');
    assert.equal(h.registration.version, approved.version);
    assert.equal(h.event.payload.from, 'SUBMITTED');
    assert.equal(h.event.payload.to, 'APPROVED');

    // The vendor's stream: only registration status events, in outbox order, none twice, and
    // for this registration exactly submitted then approved.
    const seen = vendorFeed.items.map((d) => d.registrationStatusChanged.event);
    assert.ok(seen.every((e) => e.topic.startsWith('registration.')), JSON.stringify(seen));
    assertIncreasing(seen.map((e) => e.id), 'vendor registrationStatusChanged');
    const mine = seen.filter((e) => e.subjectId === reg.id && e.topic !== 'registration.draft');
    assert.deepEqual(mine.map((e) => e.topic), ['registration.submitted', 'registration.approved']);

    // The partner's filtered stream: the approval, with its own registration as it is now.
    const own = await partnerFeed.until(
      (d) => d.registrationStatusChanged.event.subjectId === reg.id,
      `partner A's approval of ${reg.id}`,
    );
    assert.equal(own.registrationStatusChanged.event.topic, 'registration.approved');
    assert.equal(own.registrationStatusChanged.event.id, h.event.id);
    assert.equal(own.registrationStatusChanged.registration.status, 'APPROVED');
    assert.ok(
      partnerFeed.items.every((d) => d.registrationStatusChanged.registration.status === 'APPROVED' &&
        d.registrationStatusChanged.event.topic === 'registration.approved'),
      `status: [APPROVED] let through: ${JSON.stringify(partnerFeed.items)}`,
    );
  } finally {
    await Promise.all([v.dispose(), a.dispose()]);
  }
});

test("a partner never hears of another partner's registration, and does hear of its own", { timeout: TEST_TIMEOUT }, async () => {
  const cursor = await head();
  const b = connect(tokenB);
  try {
    const regFeed = b.subscribe(REGISTRATION_SUB, { after: cursor });
    const allFeed = b.subscribe(EVENTS_SUB, { after: cursor });

    // Partner A registers and is approved (a new account and opportunity come with it) ...
    const regA = await submitRegistration(tokenA, `iso-a-${RUN}.example`, `ws-iso-a-${RUN}`);
    const approvedA = await approve(regA.id, regA.version);
    // ... and its deal moves on (an event for the parties on that deal, B is not one) ...
    await gql(
      vendor,
      `mutation($i: MoveOpportunityStageInput!) {
         moveOpportunityStage(input: $i) { opportunity { stage } } }`,
      {
        i: {
          id: approvedA.opportunity.id,
          expectedVersion: approvedA.opportunity.version,
          stage: 'QUALIFICATION',
          reason: 'ws client check',
        },
      },
    );
    // ... then partner B registers: B's own events come after all of A's in the outbox, and a
    // feed delivers in outbox order, so once B hears of its own, it has passed A's.
    const regB = await submitRegistration(tokenB, `iso-b-${RUN}.example`, `ws-iso-b-${RUN}`);

    await regFeed.until(
      (d) => d.registrationStatusChanged.event.subjectId === regB.id &&
        d.registrationStatusChanged.event.topic === 'registration.submitted',
      "B's own registration.submitted on registrationStatusChanged",
    );
    await allFeed.until(
      (d) => d.events.subjectId === regB.id && d.events.topic === 'registration.submitted',
      "B's own registration.submitted on events",
    );
    assert.equal(
      regFeed.items.find((d) => d.registrationStatusChanged.event.subjectId === regB.id)
        .registrationStatusChanged.registration.id,
      regB.id,
    );

    const secrets = [
      regA.id,
      partnerA.id,
      approvedA.opportunity.id,
      approvedA.opportunity.account.id,
      `iso-a-${RUN}.example`,
    ];
    for (const [name, feed] of [['registrationStatusChanged', regFeed], ['events', allFeed]]) {
      const text = JSON.stringify(feed.items);
      for (const s of secrets) {
        assert.ok(!text.includes(s), `partner B's ${name} mentions ${s}: ${text}`);
      }
      const events = feed.items.map((d) => d.registrationStatusChanged?.event ?? d.events);
      assert.ok(
        events.every((e) => e.subjectId === regB.id),
        `partner B's ${name} has events about others: ${text}`,
      );
      assertIncreasing(events.map((e) => e.id), `partner B's ${name}`);
    }
  } finally {
    await b.dispose();
  }
});

test('a bad, foreign or missing token closes the socket with 4401', { timeout: TEST_TIMEOUT }, async () => {
  const cases = [
    ['garbage', 'not-a-jwt'],
    ['signed with another secret', mint(['--vendor', '--role', 'ADMIN'], `${SECRET}-but-not-the-same`)],
    ['no connection_init payload', null],
  ];
  for (const [what, token] of cases) {
    const c = connect(token);
    try {
      const feed = c.subscribe(EVENTS_SUB, {});
      const err = await feed.end(what);
      assert.equal(feed.items.length, 0, `${what}: data arrived`);
      assert.ok(err && typeof err === 'object' && 'code' in err, `${what}: sink.error got ${String(err)}`);
      assert.equal(err.code, 4401, `${what}: closed with ${err.code} (${err.reason})`);
      assert.match(err.reason, /^Unauthorized/, `${what}: close reason ${err.reason}`);
      assert.deepEqual(c.closes.map((e) => e.code), [4401], `${what}: on.closed saw ${JSON.stringify(c.closes)}`);
    } finally {
      await c.dispose();
    }
  }
});

test('events(after:) resumes with exactly what came after the cursor, in order, then live', { timeout: TEST_TIMEOUT }, async () => {
  const start = await head();
  const made = [];
  for (let i = 0; i < 4; i += 1) made.push(await createPartner(`WS resume ${RUN} ${i}`));
  const missed = await eventsAfter(vendor, start);
  assert.deepEqual(missed.map((e) => e.subjectId), made.map((p) => p.id), 'HTTP events after the head');
  // Resume after the first of them: the other three are what the client "missed".
  const cursor = missed[0].id;
  const expected = missed.slice(1);

  const v = connect(vendor);
  const a = connect(tokenA);
  try {
    const feed = v.subscribe(EVENTS_SUB, { after: cursor });
    const first = await feed.count(expected.length, `${expected.length} missed events`);
    assert.deepEqual(
      first.map((d) => ({ id: d.events.id, topic: d.events.topic, subjectId: d.events.subjectId })),
      expected,
    );

    // Then live, continuing after the last one without a gap or a repeat.
    const late = await createPartner(`WS resume ${RUN} live`);
    const live = await feed.until((d) => d.events.subjectId === late.id, 'the live partner.created');
    assert.equal(live.events.topic, 'partner.created');
    const ids = feed.items.map((d) => d.events.id);
    assertIncreasing(ids, 'vendor events');
    const all = await eventsAfter(vendor, cursor);
    assert.deepEqual(ids, all.slice(0, ids.length).map((e) => e.id), 'the feed skipped or added events');

    // A partner resuming from an old cursor gets what the HTTP `events` query shows it after
    // that cursor: the same scope, the same order.
    const partnerCursor = '0';
    const partnerExpected = await eventsAfter(tokenA, partnerCursor);
    assert.ok(partnerExpected.length > 0, 'partner A has events from the first test');
    const partnerFeed = a.subscribe(EVENTS_SUB, { after: partnerCursor });
    const partnerFirst = await partnerFeed.count(partnerExpected.length, "partner A's missed events");
    assert.deepEqual(
      partnerFirst.map((d) => ({ id: d.events.id, topic: d.events.topic, subjectId: d.events.subjectId })),
      partnerExpected,
    );
  } finally {
    await Promise.all([v.dispose(), a.dispose()]);
  }
});

test('without after, a subscription starts with the next event, not with history', { timeout: TEST_TIMEOUT }, async () => {
  const before = await head();
  const v = connect(vendor);
  try {
    const feed = v.subscribe(EVENTS_SUB, { topics: ['partner.'] });
    // There is no acknowledgement of a subscribe, so keep making events until one arrives.
    const made = [];
    const deadline = Date.now() + WAIT_MS;
    while (!feed.items.length && !feed.failure && Date.now() < deadline) {
      made.push((await createPartner(`WS live ${RUN} ${made.length}`)).id);
      await new Promise((r) => setTimeout(r, 250));
    }
    const first = await feed.until(() => true, 'a live partner.created');
    assert.ok(BigInt(first.events.id) > BigInt(before ?? 0), `replayed history: ${first.events.id} <= ${before}`);
    assert.ok(made.includes(first.events.subjectId), `not one of ours: ${JSON.stringify(first)}`);
    assert.ok(feed.items.every((d) => d.events.topic.startsWith('partner.')), JSON.stringify(feed.items));
    assertIncreasing(feed.items.map((d) => d.events.id), 'live events');
  } finally {
    await v.dispose();
  }
});

test('a document that does not validate, or a bad cursor, answers an error message and leaves the socket open', { timeout: TEST_TIMEOUT }, async () => {
  const v = connect(vendor);
  try {
    // A subscription that keeps the (lazy) client's one socket open throughout.
    const keep = v.subscribe(EVENTS_SUB, { topics: ['partner.'], after: '0' });
    await keep.until(() => true, 'a replayed partner.created');

    // graphql-transport-ws: validation errors come as one `error` message with the GraphQL
    // errors (sink.error gets the array), not as a close and not as `next`.
    const invalid = v.subscribe('subscription { events { id: cursor noSuchField } }', {});
    const verr = await invalid.end('the invalid subscription');
    assert.ok(Array.isArray(verr), `sink.error got ${JSON.stringify(verr)}`);
    assert.equal(verr[0]?.extensions?.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(verr));

    // A cursor that is not an event id is the caller's mistake, named by field.
    const badAfter = v.subscribe(EVENTS_SUB, { after: 'yesterday' });
    const aerr = await badAfter.end('the subscription with a bad cursor');
    const errors = Array.isArray(aerr) ? aerr : aerr?.next?.errors;
    assert.ok(Array.isArray(errors), `sink.error got ${JSON.stringify(aerr)}`);
    assert.equal(errors[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(errors));
    assert.equal(errors[0]?.extensions?.field, 'after', JSON.stringify(errors));

    // Neither closed the connection, and the other subscription on it still runs.
    const late = await createPartner(`WS errors ${RUN}`);
    await keep.until((d) => d.events.subjectId === late.id, 'the next partner.created');
    assert.equal(keep.failure, null);
    assert.deepEqual(v.closes, [], 'the socket closed');
    assert.equal(v.connected.length, 1, 'the client had to reconnect');
  } finally {
    await v.dispose();
  }
});

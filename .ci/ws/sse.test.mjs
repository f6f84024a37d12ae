// Drives cosell's GraphQL over Server-Sent Events (/graphql with Accept: text/event-stream,
// "distinct connections" mode) with the real `graphql-sse` client library, against a running
// server. The environment is program.mjs's, set by .ci/ws/run.sh.
//
// Run with node's test runner: node --test .ci/ws/sse.test.mjs
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'graphql-sse';
import * as program from './program.mjs';

const {
  HTTP_URL, TEST_TIMEOUT, WAIT_MS, RUN, REGISTRATION_SUB, EVENTS_SUB,
  mint, eventsAfter, submitRegistration, assertIncreasing,
} = program;

const clients = new Set();

/** A graphql-sse client sending `token` (null: no Authorization header). */
function connect(token) {
  const client = createClient({
    url: HTTP_URL,
    headers: token === null ? {} : { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
  });
  clients.add(client);
  return client;
}

/** One operation's stream: collects what arrives and waits for what a test expects. */
class Feed {
  constructor(client, query, variables) {
    this.items = [];
    this.errors = [];
    this.failure = null;
    this.completed = false;
    this.wake = () => {};
    this.stop = client.subscribe(
      { query, variables },
      {
        next: (value) => {
          if (value.errors) this.errors.push(value.errors);
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

  async wait(done, what) {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const hit = done();
      if (hit) return hit;
      if (this.failure) throw new Error(`${what}: the stream failed: ${this.failure}`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`no ${what} within ${WAIT_MS} ms; got ${JSON.stringify(this.items)} and errors ${JSON.stringify(this.errors)}`);
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

  /** The first item matching `pred`. */
  until(pred, what) {
    return this.wait(() => this.items.find(pred), what);
  }

  /** Waits until the stream ended with `complete` or an error. */
  end(what) {
    return this.wait(() => this.completed || this.failure, what).catch((e) => {
      if (this.failure) return this.failure;
      throw e;
    });
  }
}

let vendor;
let partnerA;
let partnerB;
let tokenA;
let tokenB;

before(async () => {
  vendor = mint(['--vendor', '--role', 'ADMIN']);
  partnerA = await program.createPartner(vendor, `SSE Partner A ${RUN}`);
  partnerB = await program.createPartner(vendor, `SSE Partner B ${RUN}`);
  tokenA = mint(['--partner', partnerA.id, '--role', 'PARTNER_ADMIN']);
  tokenB = mint(['--partner', partnerB.id, '--role', 'PARTNER_ADMIN']);
});

after(() => {
  for (const c of clients) c.dispose();
});

test('subscribers hear approvals over SSE, each only what is theirs', { timeout: TEST_TIMEOUT }, async () => {
  const cursor = await program.head(vendor);
  const v = new Feed(connect(vendor), REGISTRATION_SUB, { after: cursor });
  const a = new Feed(connect(tokenA), REGISTRATION_SUB, { after: cursor, status: ['APPROVED'] });
  const b = new Feed(connect(tokenB), EVENTS_SUB, { after: cursor });
  try {
    const reg = await submitRegistration(tokenA, `sse-a-${RUN}.example`, `sse-a-${RUN}`);
    await v.until(
      (d) => d.registrationStatusChanged.event.topic === 'registration.submitted' &&
        d.registrationStatusChanged.registration.id === reg.id,
      `registration.submitted for ${reg.id}`,
    );
    const approved = await program.approve(vendor, reg.id, reg.version, 'sse client check');
    const heard = await v.until(
      (d) => d.registrationStatusChanged.event.topic === 'registration.approved' &&
        d.registrationStatusChanged.registration.id === reg.id,
      `registration.approved for ${reg.id}`,
    );
    assert.equal(heard.registrationStatusChanged.registration.version, approved.version);
    assertIncreasing(v.items.map((d) => d.registrationStatusChanged.event.id), 'vendor feed');
    const own = await a.until(
      (d) => d.registrationStatusChanged.registration.id === reg.id,
      "partner A's approval",
    );
    assert.equal(own.registrationStatusChanged.event.topic, 'registration.approved');
    // B's own claim comes after A's in the outbox: once B hears it, it has passed A's.
    const regB = await submitRegistration(tokenB, `sse-b-${RUN}.example`, `sse-b-${RUN}`);
    await b.until((d) => d.events.subjectId === regB.id, "B's own registration");
    const text = JSON.stringify(b.items);
    for (const secret of [reg.id, partnerA.id, approved.opportunity.id, `sse-a-${RUN}.example`]) {
      assert.ok(!text.includes(secret), `partner B's stream mentions ${secret}: ${text}`);
    }
  } finally {
    v.stop();
    a.stop();
    b.stop();
  }
});

test('events(after:) over SSE resumes with exactly what came after the cursor, in order', { timeout: TEST_TIMEOUT }, async () => {
  const start = await program.head(vendor);
  for (let i = 0; i < 3; i += 1) {
    await submitRegistration(tokenA, `sse-resume-${i}-${RUN}.example`, `sse-resume-${i}-${RUN}`);
  }
  const missed = await eventsAfter(vendor, start);
  assert.ok(missed.length >= 3, JSON.stringify(missed));
  const feed = new Feed(connect(vendor), EVENTS_SUB, { after: start });
  try {
    const got = await feed.wait(
      () => feed.items.length >= missed.length && feed.items.slice(0, missed.length),
      `${missed.length} missed events`,
    );
    assert.deepEqual(got.map((d) => d.events.id), missed.map((e) => e.id));
  } finally {
    feed.stop();
  }
});

test('a query streams one result and completes; a refusal arrives as a result with errors', { timeout: TEST_TIMEOUT }, async () => {
  const client = connect(tokenA);
  const q = new Feed(client, '{ viewer { kind } }', {});
  await q.end('the query');
  assert.equal(q.completed, true);
  assert.deepEqual(q.items, [{ viewer: { kind: 'PARTNER' } }]);
  const bad = new Feed(client, 'subscription { events { nope } }', {});
  await bad.end('the refused subscription');
  assert.equal(bad.completed, true);
  assert.equal(bad.errors[0][0].extensions.code, 'GRAPHQL_VALIDATION_FAILED', JSON.stringify(bad.errors));
});

test('a stream without a token is refused with 401 before it opens', { timeout: TEST_TIMEOUT }, async () => {
  const feed = new Feed(connect(null), EVENTS_SUB, {});
  const failure = await feed.end('the refusal');
  assert.equal(failure?.response?.status, 401, String(failure));
  assert.equal(feed.items.length, 0);
});

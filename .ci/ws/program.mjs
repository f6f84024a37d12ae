// What the client-library checks share: the server's addresses, tokens minted with
// `cosell token`, plain HTTP calls and the program's writes (partners, registrations).
//
// Environment (set by .ci/ws/run.sh):
//   COSELL_HTTP_URL    the /graphql endpoint, e.g. http://127.0.0.1:8080/graphql
//   COSELL_WS_URL      the WebSocket endpoint, e.g. ws://127.0.0.1:8080/graphql/ws
//   COSELL_BIN         the cosell binary, to mint tokens with `cosell token`
//   COSELL_JWT_SECRET  the HS256 secret the server verifies tokens with
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const HTTP_URL = process.env.COSELL_HTTP_URL;
export const WS_URL = process.env.COSELL_WS_URL;
export const BIN = process.env.COSELL_BIN;
export const SECRET = process.env.COSELL_JWT_SECRET;
if (!HTTP_URL || !WS_URL || !BIN || !SECRET) {
  throw new Error('set COSELL_HTTP_URL, COSELL_WS_URL, COSELL_BIN and COSELL_JWT_SECRET');
}

// Every test has a hard limit; waits for one message stay well below it. The server reads the
// outbox at least every 2 s even when no wake-up reaches it, so 12 s is plenty.
export const TEST_TIMEOUT = 20_000;
export const WAIT_MS = 12_000;
// A run-unique suffix, so names and domains never collide with an earlier run's rows.
export const RUN = randomBytes(4).toString('hex');

// --- tokens and HTTP ---------------------------------------------------------------------------

export function mint(args, secret = SECRET) {
  const out = execFileSync(BIN, ['token', ...args, '--ttl', '15m'], {
    encoding: 'utf8',
    env: { ...process.env, COSELL_JWT_SECRET: secret },
  });
  return out.trim().split('\n').pop().trim();
}

export async function gql(token, query, variables = {}) {
  const res = await fetch(HTTP_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (res.status !== 200 || body.errors) {
    throw new Error(`HTTP ${res.status} for ${query.slice(0, 60)}…: ${JSON.stringify(body)}`);
  }
  return body.data;
}

/** Every event `token` may read after `afterId` (the HTTP `events` query), oldest first. */
export async function eventsAfter(token, afterId) {
  const all = [];
  let cursor = afterId;
  for (;;) {
    const { events } = await gql(
      token,
      'query($after: ID) { events(after: $after, first: 100) { id: cursor topic subjectId } }',
      { after: cursor ?? null },
    );
    all.push(...events);
    if (events.length < 100) return all;
    cursor = events[events.length - 1].id;
  }
}

/** The newest outbox id the vendor can see: "now", as a resume cursor. */
export async function head(vendor) {
  const all = await eventsAfter(vendor, null);
  return all.length ? all[all.length - 1].id : null;
}

export const createPartnerDoc =
  'mutation($i: CreatePartnerInput!) { createPartner(input: $i) { partner { id name } } }';

export async function createPartner(vendor, name) {
  const { createPartner: p } = await gql(vendor, createPartnerDoc, { i: { name } });
  return p.partner;
}

export async function submitRegistration(token, domain, key) {
  const { submitRegistration: r } = await gql(
    token,
    `mutation($i: SubmitRegistrationInput!) {
       submitRegistration(input: $i) { registration { id status version } } }`,
    {
      i: {
        idempotencyKey: key,
        draft: {
          accountDomain: domain,
          accountName: `Customer ${domain}`,
          dealName: `Services at ${domain}`,
          role: 'SERVICES',
          justification: 'We run their platform team and scoped the work with their CTO.',
        },
      },
    },
  );
  return r.registration;
}

export async function approve(vendor, id, expectedVersion, reason = 'client library check') {
  const { approveRegistration: r } = await gql(
    vendor,
    `mutation($i: ApproveRegistrationInput!) {
       approveRegistration(input: $i) {
         registration { id status version opportunity { id version account { id } } } } }`,
    { i: { id, expectedVersion, createOpportunity: true, reason } },
  );
  return r.registration;
}

/** Every outbox id in `ids` is larger than the one before (so no duplicate either). */
export function assertIncreasing(ids, what) {
  for (let i = 1; i < ids.length; i += 1) {
    assert.ok(
      BigInt(ids[i]) > BigInt(ids[i - 1]),
      `${what}: ids not strictly increasing at ${i}: ${ids.join(', ')}`,
    );
  }
}

export const REGISTRATION_SUB = `subscription($after: ID, $status: [RegistrationStatus!]) {
  registrationStatusChanged(after: $after, status: $status) {
    event { id: cursor topic subjectId payload createdAt }
    registration { id status version }
  }
}`;

export const EVENTS_SUB = `subscription($after: ID, $topics: [String!]) {
  events(after: $after, topics: $topics) { id: cursor topic subjectId payload createdAt }
}`;

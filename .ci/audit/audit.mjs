// Runs every graphql-http server audit against a running cosell server.
// AUDIT_URL is the /graphql endpoint, AUDIT_TOKEN a bearer token (cosell refuses requests
// without one). Prints PASS/FAIL per audit; exits non-zero when any MUST audit fails (SHOULD
// and MAY failures are printed and counted but don't fail the run).
import { serverAudits } from 'graphql-http';

const url = process.env.AUDIT_URL;
const token = process.env.AUDIT_TOKEN;
if (!url || !token) {
  console.error('set AUDIT_URL and AUDIT_TOKEN');
  process.exit(2);
}

const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const clip = (s, n = 400) => (s.length > n ? `${s.slice(0, n)}…` : s);

// The failing response's status, content type and body; the body only when the audit had not
// already read it.
async function describe(res) {
  if (!res || typeof res.status !== 'number') return '';
  let detail = ` [${res.status} ${res.headers.get('content-type') ?? '(no content-type)'}]`;
  if (!res.bodyUsed) {
    try {
      detail += ` ${clip(await res.clone().text())}`;
    } catch {
      // the body stream is gone
    }
  }
  return detail;
}

let passed = 0;
let failed = 0;
let mustFailed = 0;
for (const audit of serverAudits({ url, fetchFn })) {
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http rethrows anything that is not an assertion failure (e.g. a refused connection)
    result = { status: 'error', reason: `audit threw: ${err?.cause?.message ?? err?.message ?? err}` };
  }
  if (result.status === 'ok') {
    passed += 1;
    console.log(`PASS ${audit.id} ${audit.name}`);
    continue;
  }
  failed += 1;
  if (audit.name.startsWith('MUST')) mustFailed += 1;
  console.log(`FAIL ${audit.id} ${audit.name}: ${result.reason}${await describe(result.response)}`);
}
console.log(`MUST failures: ${mustFailed}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(mustFailed === 0 ? 0 : 1);

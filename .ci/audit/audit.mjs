// Runs every graphql-http server audit against a running cosell server.
// AUDIT_URL is the /graphql endpoint, AUDIT_TOKEN a bearer token (cosell refuses requests
// without one). Fails when any MUST audit fails; SHOULD and MAY results are reported.
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

let passed = 0;
let failed = 0;
let mustFailed = 0;
for (const audit of serverAudits({ url, fetchFn })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    passed += 1;
    console.log(`PASS ${audit.id} ${audit.name}`);
    continue;
  }
  failed += 1;
  const must = audit.name.startsWith('MUST');
  if (must) mustFailed += 1;
  let detail = '';
  try {
    const res = result.response.clone();
    detail = ` [${res.status} ${res.headers.get('content-type')}] ${(await res.text()).slice(0, 400)}`;
  } catch {
    // the body was already read by the audit
  }
  console.log(`${must ? 'FAIL' : 'WARN'} ${audit.id} ${audit.name}: ${result.reason}${detail}`);
}
console.log(`MUST failures: ${mustFailed}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(mustFailed === 0 ? 0 : 1);

// Drives cosell's GraphiQL in headless Chromium. Any request to a host other than 127.0.0.1
// fails the check (and could not succeed: the browser resolves no other host).
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const base = process.env.COSELL_BASE;
const token = process.env.COSELL_TOKEN;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM,
  args: ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
});
const step = (s) => console.log(`ok - ${s}`);
try {
  const page = await browser.newPage();
  const outside = [];
  const paths = [];
  const problems = [];
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (u.hostname !== "127.0.0.1") outside.push(u.href);
    else paths.push(`${r.method()} ${u.pathname}`);
  });
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });

  const res = await page.goto(`${base}/graphiql`);
  assert.equal(res.status(), 200);
  const csp = res.headers()["content-security-policy"] ?? "";
  assert.match(csp, /script-src 'self'/, "a Content-Security-Policy limits scripts to this server");
  await page.locator("#token-form").waitFor();
  assert.ok(
    !paths.some((p) => p.endsWith(" /graphql")),
    `nothing asks the API before a token is given: ${paths.join(", ")}`,
  );
  step("the page asks for a token first and has not called the API");

  assert.deepEqual(problems, [], "the page loads without an error");
  await page.fill("#token", "not-a-token");
  await page.click("#token-form button[type=submit]");
  await page.locator("#token-error").waitFor();
  assert.match(await page.textContent("#token-error"), /refused/);
  // The browser logs the refusal (HTTP 401) as a failed resource; that one is expected.
  problems.length = 0;
  step("a refused token is explained and GraphiQL stays closed");

  await page.fill("#token", token);
  await page.click("#token-form button[type=submit]");
  await page.locator(".graphiql-container").waitFor({ timeout: 20000 });
  assert.match(await page.textContent("#principal"), /VENDOR/);
  step("an accepted token opens GraphiQL and names the principal");

  await page.getByRole("button", { name: /Documentation Explorer/ }).first().click();
  const docs = page.locator(".graphiql-doc-explorer");
  await docs.getByText("Query", { exact: true }).first().waitFor({ timeout: 20000 });
  step("the documentation explorer lists Query (the schema loaded with the token)");

  await page.locator(".graphiql-execute-button").click();
  await page
    .locator(".result-window")
    .getByText(/VENDOR/)
    .first()
    .waitFor({ timeout: 20000 });
  step("the default query runs and answers as the token's principal");

  assert.deepEqual(outside, [], "no request left 127.0.0.1");
  assert.deepEqual(problems, [], "no script error and no Content-Security-Policy violation");
  step(`no request left 127.0.0.1 (${paths.length} requests, all to cosell)`);
} finally {
  await browser.close();
}

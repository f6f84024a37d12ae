// PostGraphile 5 over cosell's tables, for the dashboard benchmark (benches/dashboard.rs).
//
// Production settings: no GraphiQL, no watch mode, no explain. Each request runs as a
// non-superuser role so that the row-level security of rls.sql applies: the vendor role sees
// everything, the partner role the rows of the partner named by the `x-cosell-partner` header
// (a numeric partner id), like cosell's own scopes.
//
// Environment: DATABASE_URL, HOST (127.0.0.1), PORT (0: any free port), POOL_MAX (10). Prints
// `listening on http://HOST:PORT/graphql` once the schema is built. GET /stats answers the
// number of SQL statements sent to PostgreSQL so far, for the statements-per-request figure.

// PostGraphile 5 uses Promise.withResolvers (Node 22); this polyfill lets it run on Node 20.
// Static imports are evaluated before the module body, so PostGraphile is imported
// dynamically below, after this runs.
if (typeof Promise.withResolvers !== "function") {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const { createServer } = await import("node:http");
const pg = (await import("pg")).default;
const { postgraphile } = await import("postgraphile");
const { PostGraphileAmberPreset } = await import("postgraphile/presets/amber");
const { makePgService } = await import("postgraphile/adaptors/pg");
const { grafserv } = await import("postgraphile/grafserv/node");

// Every statement PostGraphile sends goes through Client#query (BEGIN, set_config, the query
// itself, COMMIT): counting here is the counterpart of cosell_sql_statements_total.
let statements = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  statements += 1;
  return query.apply(this, args);
};

const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 0);

const preset = {
  extends: [PostGraphileAmberPreset],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.POOL_MAX ?? 10) },
      pgSettings(requestContext) {
        const raw = requestContext.node?.req?.headers["x-cosell-partner"];
        const partner = raw === undefined ? null : String(raw);
        if (partner !== null && !/^[0-9]+$/.test(partner)) {
          throw new Error("x-cosell-partner must be a numeric partner id");
        }
        return partner === null
          ? { role: "cosell_dashboard_vendor" }
          : { role: "cosell_dashboard_partner", "cosell.partner_id": partner };
      },
    }),
  ],
  grafserv: { graphiql: false, watch: false, websockets: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
// Built before listening, so the first measured request does not pay for it.
await pgl.getSchema();
const handler = serv.createHandler();

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ statements }));
    return;
  }
  handler(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(port, host, () => {
  const addr = server.address();
  console.log(`listening on http://${host}:${addr.port}/graphql`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    Promise.resolve(pgl.release()).finally(() => process.exit(0));
  });
}

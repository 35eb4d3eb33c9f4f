// End-to-end harness: runs the two BUILT wasm Worker scripts (build/api, build/consumer) together
// in workerd through Miniflare, with real local D1, R2 and Queues shared between them and
// configured from wrangler.toml, wrangler.consumer.toml and .dev.vars (one source of truth).
// D1 starts from a template migrated by `wrangler d1 migrations apply --local` (wrangler's own
// migration tracking), copied fresh for every test file.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { Miniflare } from "miniflare";
import { parse as parseToml } from "smol-toml";

export const ROOT = resolve(import.meta.dirname, "../..");
/** The two Worker scripts built from the crate: the API (with the live rooms and the Cron
 * sweep) and the queue consumer, the only one with the renderer (README "Two Worker scripts"). */
export const API_CONFIG = "wrangler.toml";
export const CONSUMER_CONFIG = "wrangler.consumer.toml";
export const readConfig = (file) => parseToml(readFileSync(join(ROOT, file), "utf8"));

export function devVars() {
  const vars = {};
  for (const line of readFileSync(join(ROOT, ".dev.vars"), "utf8").split("\n")) {
    const m = line.match(/^\s*([A-Z0-9_]+)\s*=\s*"?(.*?)"?\s*$/);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

export const wranglerEnv = {
  ...process.env,
  WRANGLER_SEND_METRICS: "false",
  WRANGLER_SEND_ERROR_REPORTS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
};

/**
 * The D1 databases the suite spreads users over (docs/scaling.md, "the local simulation"): two
 * bindings, so every flow crosses databases as a sharded deployment would (`E2E_SHARDS=1`: one).
 * The first is wrangler.toml's `DB`; the others exist only here.
 */
export const SHARDS = process.env.E2E_SHARDS === "1" ? ["DB"] : ["DB", "DB_1"];
const shardId = (binding) => `e2e-shard-${binding.toLowerCase()}`;

/** Applies the migrations with wrangler into `persist` (a --persist-to folder), to `binding`
 * (another than `DB` through a config naming it, written into `persist`). */
export function applyMigrations(persist, binding = "DB") {
  const args = ["d1", "migrations", "apply", binding, "--local", "--persist-to", persist];
  if (binding !== "DB") {
    const config = join(persist, `${binding}.toml`);
    mkdirSync(persist, { recursive: true });
    writeFileSync(
      config,
      `name = "e2e-shards"\ncompatibility_date = "${readConfig(API_CONFIG).compatibility_date}"\n` +
        `[[d1_databases]]\nbinding = "${binding}"\ndatabase_name = "${shardId(binding)}"\n` +
        `database_id = "${shardId(binding)}"\nmigrations_dir = "${join(ROOT, "migrations")}"\n`,
    );
    args.push("-c", config);
  }
  return execFileSync(join(ROOT, "node_modules/.bin/wrangler"), args, {
    cwd: ROOT,
    env: { ...wranglerEnv, CI: "true" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** A D1 state migrated by wrangler, cached per content of migrations/ (so it is never stale). */
function templateState() {
  const hash = createHash("sha256");
  for (const f of readdirSync(join(ROOT, "migrations")).sort()) {
    hash.update(f).update(readFileSync(join(ROOT, "migrations", f)));
  }
  hash.update(SHARDS.join(","));
  const template = join(process.env.E2E_TEMPLATE ?? join(ROOT, ".cache/e2e-template"), hash.digest("hex").slice(0, 16));
  if (!existsSync(join(template, "v3/d1"))) {
    for (const binding of SHARDS) applyMigrations(template, binding);
  }
  return template;
}

/**
 * Miniflare's options for the script a wrangler config file describes: its entry point, its
 * [vars] (then .dev.vars, then `vars`; undefined removes one), D1, R2, queues, rate limits, Cron,
 * assets and Durable Objects. `retryDelay` (seconds) overrides its queue consumers' delay before
 * redelivering a failed batch.
 */
export function workerOptions(file, { vars = {}, ratelimits = {}, retryDelay } = {}) {
  const c = readConfig(file);
  // E2E_HOME=1: every new account (and so its library) in the second database instead of where
  // its random id falls, so that a route which assumes the first database fails every time.
  const home = process.env.E2E_HOME === "1" && SHARDS.length > 1 ? { E2E_VSHARD: "ff" } : {};
  const bindings = { ...c.vars, ...devVars(), D1_SHARDS: SHARDS.join(","), ...home, ...vars };
  for (const [k, v] of Object.entries(bindings)) if (v === undefined) delete bindings[k];
  return {
    name: c.name,
    modules: true,
    scriptPath: join(ROOT, c.main),
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"], fallthrough: true }],
    compatibilityDate: c.compatibility_date,
    compatibilityFlags: c.compatibility_flags ?? [],
    bindings,
    d1Databases: {
      ...Object.fromEntries((c.d1_databases ?? []).map((d) => [d.binding, d.database_id])),
      ...Object.fromEntries(SHARDS.slice(1).map((b) => [b, shardId(b)])),
    },
    r2Buckets: Object.fromEntries((c.r2_buckets ?? []).map((b) => [b.binding, b.bucket_name])),
    queueProducers: Object.fromEntries((c.queues?.producers ?? []).map((p) => [p.binding, { queueName: p.queue }])),
    queueConsumers: Object.fromEntries(
      (c.queues?.consumers ?? []).map((q) => [
        q.queue,
        {
          maxBatchSize: q.max_batch_size,
          maxBatchTimeout: q.max_batch_timeout,
          maxRetries: q.max_retries,
          retryDelay: retryDelay ?? q.retry_delay,
          deadLetterQueue: q.dead_letter_queue,
        },
      ]),
    ),
    ratelimits: {
      ...Object.fromEntries((c.ratelimits ?? []).map((r) => [r.name, { simple: r.simple }])),
      // Overrides concern the script that has rate limits (the API).
      ...(c.ratelimits ? ratelimits : {}),
    },
    triggers: { crons: c.triggers?.crons ?? [] },
    assets: c.assets && {
      directory: join(ROOT, c.assets.directory),
      binding: c.assets.binding,
      routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: c.assets.run_worker_first === true },
    },
    durableObjects: Object.fromEntries(
      (c.durable_objects?.bindings ?? []).map((b) => [b.name, { className: b.class_name, useSQLite: true }]),
    ),
  };
}

/**
 * Miniflare's `workers` for both scripts over one local state (D1, R2, queues and Durable
 * Objects shared, as `wrangler dev -c wrangler.toml -c wrangler.consumer.toml` shares them): the
 * API first, so requests go to it; the API's tasks reach the consumer script through the queue.
 */
export function bothScripts(options = {}) {
  const api = workerOptions(API_CONFIG, options);
  const consumer = workerOptions(CONSUMER_CONFIG, options);
  return [
    {
      ...api,
      queueProducers: {
        ...api.queueProducers,
        // Test-only: lets a test put a message straight into the dead-letter queue.
        E2E_DLQ: { queueName: consumer.queueConsumers["scoremate-jobs"].deadLetterQueue },
      },
    },
    consumer,
  ];
}

/** Miniflare's shared options for a local state folder (the layout of wrangler's --persist-to). */
export const persistOptions = (state) => ({
  durableObjectsPersist: join(state, "v3/do"),
  d1Persist: join(state, "v3/d1"),
  r2Persist: join(state, "v3/r2"),
});

/**
 * Starts both Worker scripts. `vars` override [vars]/.dev.vars (e.g. { JWT_SECRET: undefined });
 * `retryDelay` (seconds) overrides the queue's delay before redelivering a failed batch.
 * Returns helpers bound to the instance; call `close()` when done.
 */
export async function startWorker({ vars = {}, ratelimits = {}, retryDelay, state: reuse } = {}) {
  // `state`: the folder of an earlier instance (`keep: true` on its close), to restart the
  // runtime over the same D1, R2 and Durable Object storage.
  const state = reuse ?? mkdtempSync(join(tmpdir(), "scoremate-e2e-"));
  if (!reuse) cpSync(templateState(), state, { recursive: true });
  const logs = [];
  const mf = new Miniflare({
    // A real loopback port too (besides dispatchFetch), for the browser test.
    host: "127.0.0.1",
    port: 0,
    workers: bothScripts({
      // Every test file's clients share one address: the per-IP auth limit is tested on its own
      // (ratelimits.test.mjs) and lifted elsewhere; every other limit keeps wrangler.toml's value.
      vars: { RATE_AUTH_PER_IP: "100000/60", ...vars },
      // One address for every client of a test file: the per-address link limit is tested on
      // its own (hardening.test.mjs) and lifted elsewhere.
      ratelimits: { LINK_IP_LIMITER: { simple: { limit: 100000, period: 60 } }, ...ratelimits },
      retryDelay,
    }),
    ...persistOptions(state),
    handleRuntimeStdio(stdout, stderr) {
      for (const stream of [stdout, stderr]) stream.on("data", (b) => logs.push(b.toString()));
    },
  });
  const url = await mf.ready;
  const base = "http://localhost";
  const api = new Api(mf, base);
  return {
    mf,
    api,
    logs,
    /** The Worker's loopback address, e.g. http://127.0.0.1:41234/ */
    url,
    /** The library's database as one: a statement runs in every shard and the answers are
     * merged (rows concatenated, changes added), so a test reads and changes rows wherever
     * their owner lives. `shard(i)` is one database. */
    db: async () => shardedDb(await Promise.all(SHARDS.map((b) => mf.getD1Database(b)))),
    shard: (i) => mf.getD1Database(SHARDS[i]),
    bucket: () => mf.getR2Bucket("FILES"),
    queue: () => mf.getQueueProducer("JOBS"),
    deadLetters: () => mf.getQueueProducer("E2E_DLQ"),
    /**
     * Plans a fault (needs `vars: { E2E_FAULTS: "on" }`): the next `times` calls of `op`
     * (`d1.first|all|run|batch`, `r2.head|get|put|delete`, `queue.run`, `assets.fetch`) whose subject (SQL text,
     * object key, task id) contains `pattern` are delayed by `delayMs`, then `action`ed:
     * `fail`, `trap` (the isolate aborts), `defer` (the consumer acts as if near its CPU limit)
     * or `none` (delay only).
     */
    async fault(op, pattern, { times = 1, action = "fail", delayMs = 0 } = {}) {
      // The Worker reads faults from `DB` only; every shard gets the table, so that a test's
      // query of it through `db()` runs everywhere.
      await (await this.db()).exec("create table if not exists e2e_faults (op text not null, pattern text not null, remaining integer not null, action text not null, delay_ms integer not null)");
      const db = await mf.getD1Database("DB");
      await db.exec("create table if not exists e2e_faults (op text not null, pattern text not null, remaining integer not null, action text not null, delay_ms integer not null)");
      await db.prepare("insert into e2e_faults values (?, ?, ?, ?, ?)").bind(op, pattern, times, action, delayMs).run();
    },
    /** The folder of this instance's local state (to restart over it). */
    state,
    async close({ keep = false } = {}) {
      await mf.dispose();
      if (!keep) rmSync(state, { recursive: true, force: true });
    },
  };
}

/** Runs a write in every database; one whose foreign keys refuse it (the parent row lives in
 * another database) keeps nothing, as D1 rolls back a refused statement or batch. */
async function everywhere(dbs, write) {
  const done = [];
  let refused;
  for (const db of dbs) {
    try {
      done.push(await write(db));
    } catch (e) {
      if (!/FOREIGN KEY/.test(String(e?.message))) throw e;
      refused ??= e;
    }
  }
  if (done.length === 0) throw refused;
  return done;
}

/** `dbs` (one D1 per shard) behind D1's own `prepare`/`bind`/`first`/`all`/`run`/`batch`/`exec`. */
function shardedDb(dbs) {
  if (dbs.length === 1) return dbs[0];
  const statement = (sql, args = []) => ({
    sql,
    args,
    bind: (...a) => statement(sql, a),
    per: (db) => db.prepare(sql).bind(...args),
    async all() {
      const each = await Promise.all(dbs.map((db) => db.prepare(sql).bind(...args).all()));
      return { ...each[0], results: each.flatMap((r) => r.results) };
    },
    async first(column) {
      const rows = [];
      for (const db of dbs) {
        const row = await db.prepare(sql).bind(...args).first(column);
        if (row !== null && row !== undefined) rows.push(row);
      }
      // An aggregate over the whole library is the sum of each database's.
      const numeric = (r) => typeof r === "number" || (typeof r === "object" && Object.values(r).every((v) => typeof v === "number"));
      if (rows.length > 1 && /\b(count|sum|total)\s*\(/i.test(sql) && rows.every(numeric)) {
        if (typeof rows[0] === "number") return rows.reduce((a, b) => a + b, 0);
        return Object.fromEntries(Object.keys(rows[0]).map((k) => [k, rows.reduce((a, r) => a + r[k], 0)]));
      }
      return rows[0] ?? null;
    },
    async run() {
      const each = await everywhere(dbs, (db) => db.prepare(sql).bind(...args).run());
      const changes = each.reduce((n, r) => n + (r.meta?.changes ?? 0), 0);
      return { ...each[0], meta: { ...each[0].meta, changes } };
    },
    async raw(options) {
      const each = await Promise.all(dbs.map((db) => db.prepare(sql).bind(...args).raw(options)));
      return each.flat();
    },
  });
  return {
    prepare: (sql) => statement(sql),
    async batch(stmts) {
      const each = await everywhere(dbs, (db) => db.batch(stmts.map((s) => s.per(db))));
      return stmts.map((_, i) => ({
        ...each[0][i],
        results: each.flatMap((r) => r[i].results ?? []),
        meta: { ...each[0][i].meta, changes: each.reduce((n, r) => n + (r[i].meta?.changes ?? 0), 0) },
      }));
    },
    async exec(sql) {
      for (const db of dbs) await db.exec(sql);
    },
  };
}

/** Typed request helpers; each returns { status, headers, body } with body parsed when JSON. */
export class Api {
  constructor(mf, base) {
    this.mf = mf;
    this.base = base;
  }

  async raw(method, path, { body, headers = {}, token } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    const init = { method, headers: h, body };
    if (body instanceof ReadableStream) init.duplex = "half";
    const res = await this.mf.dispatchFetch(this.base + path, init);
    const text = await res.text();
    let parsed = text;
    const json = (res.headers.get("content-type") ?? "").includes("application/json");
    if (json) parsed = JSON.parse(text);
    if (json) await this.conformance.check(method, path, token, res.status, parsed);
    return { status: res.status, headers: res.headers, body: parsed };
  }

  /** Every JSON answer of the suite is held to the served OpenAPI documents. */
  get conformance() {
    this._conformance ??= new Conformance(this.mf, this.base);
    return this._conformance;
  }

  json(method, path, body, token) {
    return this.raw(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined ? {} : { "content-type": "application/json" },
      token,
    });
  }

  get(path, token) {
    return this.json("GET", path, undefined, token);
  }

  post(path, body, token) {
    return this.json("POST", path, body, token);
  }

  patch(path, body, token) {
    return this.json("PATCH", path, body, token);
  }

  put(path, body, token) {
    return this.json("PUT", path, body, token);
  }

  delete(path, token) {
    return this.json("DELETE", path, undefined, token);
  }

  async register(email, password = "Str0ng-pass-word", display_name = "Player") {
    return this.post("/v1/auth/register", { email, password, display_name });
  }

  /** Registers and logs in; returns the login body plus the user. */
  async signup(email, password = "Str0ng-pass-word") {
    const reg = await this.register(email, password);
    if (reg.status !== 201) throw new Error(`register ${email}: ${reg.status} ${JSON.stringify(reg.body)}`);
    const login = await this.post("/v1/auth/login", { email, password });
    if (login.status !== 200) throw new Error(`login ${email}: ${login.status} ${JSON.stringify(login.body)}`);
    return { ...login.body, user: reg.body.user, password };
  }

  /** Upload URL, PUT and create: the score as created (throws on any unexpected status). */
  async uploadScore(token, bytes, fields = {}) {
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const up = await this.post("/v1/uploads", { filename: "f.pdf", size: bytes.length, mime: "application/pdf", sha256 }, token);
    if (up.status !== 201) throw new Error(`upload url: ${up.status} ${JSON.stringify(up.body)}`);
    const put = await this.mf.dispatchFetch(up.body.url, { method: "PUT", headers: up.body.headers, body: bytes });
    if (put.status !== 200) throw new Error(`put: ${put.status} ${await put.text()}`);
    const created = await this.post("/v1/scores", { upload_id: up.body.upload_id, title: "Typed by me", ...fields }, token);
    if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
    return created.body.score;
  }

  /** The score once neither processing task is pending. */
  settled(id, token) {
    return eventually(async () => {
      const res = await this.get(`/v1/scores/${id}`, token);
      const p = res.body.score.processing;
      return p.pdf_info.state !== "pending" && p.thumbnail.state !== "pending" ? res.body.score : null;
    });
  }
}

/** Asserts the SPEC §6 envelope. */
export function assertEnvelope(assert, res, status, code) {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(typeof res.body, "object", `not JSON: ${res.body}`);
  assert.equal(res.body.error?.code, code, JSON.stringify(res.body));
  assert.match(res.body.error.id, /^E\d{3}$/);
  assert.equal(typeof res.body.error.message, "string");
  assert.equal(typeof res.body.error.fields, "object");
}

/** Polls `fn` until it returns a truthy value or the deadline passes. */
export async function eventually(fn, { timeoutMs = 15000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Holds every JSON response to the schema the served OpenAPI document gives for its operation
 * and status (the public document, or the admin one, fetched with the admin's own token the first
 * time an admin route answers 2xx). An undocumented status or a body off its schema fails the test
 * that made the request. E2E_CONFORMANCE=off turns it off (to debug).
 */
class Conformance {
  constructor(mf, base) {
    this.mf = mf;
    this.base = base;
    this.docs = new Map(); // "public" | "admin" → { ajv, routes: [{ method, re, template, op }] }
    this.validators = new Map();
  }

  async load(kind, token) {
    if (this.docs.has(kind)) return this.docs.get(kind);
    const path = kind === "admin" ? "/v1/admin/openapi.json" : "/openapi.json";
    const res = await this.mf.dispatchFetch(this.base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (res.status !== 200) return undefined;
    const doc = await res.json();
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    ajv.addSchema({ ...doc, $id: `https://scoremate.test/${kind}.json` });
    const routes = [];
    for (const [template, ops] of Object.entries(doc.paths)) {
      const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
      for (const [method, op] of Object.entries(ops)) routes.push({ method: method.toUpperCase(), re, template, op });
    }
    const loaded = { ajv, routes, kind };
    this.docs.set(kind, loaded);
    return loaded;
  }

  async check(method, url, token, status, body) {
    if (process.env.E2E_CONFORMANCE === "off") return;
    const path = new URL(url, this.base).pathname;
    if (path.endsWith("openapi.json")) return;
    const admin = path.startsWith("/v1/admin/");
    if (admin && !(status >= 200 && status < 300) && !this.docs.has("admin")) return;
    const doc = await this.load(admin ? "admin" : "public", token);
    if (!doc) return;
    const route = doc.routes.find((r) => r.method === method && r.re.test(path));
    if (!route) return; // no such operation: the router's own 404/405, tested on its own
    const responses = route.op.responses ?? {};
    const documented = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
    if (!documented) {
      throw new Error(`${method} ${route.template} answered ${status}, which its OpenAPI operation does not document: ${JSON.stringify(body)}`);
    }
    const schema = documented.content?.["application/json"]?.schema;
    if (!schema) throw new Error(`${method} ${route.template} ${status}: JSON body, but the document gives none`);
    const key = `${doc.kind} ${method} ${route.template} ${status}`;
    let validate = this.validators.get(key);
    if (!validate) {
      const status_ = responses[String(status)] ? String(status) : responses[`${String(status)[0]}XX`] ? `${String(status)[0]}XX` : "default";
      const pointer = ["paths", route.template, method.toLowerCase(), "responses", status_, "content", "application/json", "schema"]
        .map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1"))
        .join("/");
      validate = doc.ajv.compile({ $ref: `https://scoremate.test/${doc.kind}.json#/${pointer}` });
      this.validators.set(key, validate);
    }
    if (!validate(body)) {
      throw new Error(`${method} ${route.template} ${status}: the body is off its schema: ${doc.ajv.errorsText(validate.errors)}\n${JSON.stringify(body).slice(0, 2000)}`);
    }
  }
}

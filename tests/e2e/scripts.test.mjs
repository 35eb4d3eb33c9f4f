// The two Worker scripts built from the crate (README "Two Worker scripts"): their wrangler
// configs agree on everything they share, only the consumer's build carries the renderer, each
// script has only its own entry points, and a score uploaded through the API is processed by
// the consumer script over the shared D1, R2 and queue.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { API_CONFIG, CONSUMER_CONFIG, ROOT, readConfig, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

const api = readConfig(API_CONFIG);
const consumer = readConfig(CONSUMER_CONFIG);
const built = (config, file) => readFileSync(join(ROOT, config.main.replace(/index\.js$/, file)));

test("the consumer's config shares the API's settings, database, bucket, queue and date", () => {
  assert.deepEqual(consumer.vars, api.vars);
  // Migrations are applied through wrangler.toml only.
  const database = ({ binding, database_name, database_id }) => ({ binding, database_name, database_id });
  assert.deepEqual(consumer.d1_databases.map(database), api.d1_databases.map(database));
  assert.equal(consumer.d1_databases[0].migrations_dir, undefined);
  assert.deepEqual(consumer.r2_buckets, api.r2_buckets);
  assert.deepEqual(consumer.queues.producers, api.queues.producers);
  assert.equal(consumer.compatibility_date, api.compatibility_date);
  assert.deepEqual(consumer.compatibility_flags, api.compatibility_flags);
  assert.deepEqual(consumer.observability, api.observability);
});

test("the queue is consumed by the consumer script only; rooms, Cron, public assets and limits are the API's", () => {
  assert.equal(api.queues.consumers, undefined);
  assert.deepEqual(consumer.queues.consumers.map((c) => c.queue), ["scoremate-jobs", "scoremate-jobs-dlq"]);
  // The consumer's assets are the renderer's fonts, reached through its binding only; the folder
  // is the API's, as local Miniflare serves every script's assets from one folder.
  assert.deepEqual(consumer.assets, { directory: api.assets.directory, binding: "FONTS" });
  assert.equal(api.assets.binding, "ASSETS");
  for (const key of ["durable_objects", "migrations", "triggers", "ratelimits"]) {
    assert.ok(api[key], key);
    assert.equal(consumer[key], undefined, key);
  }
  assert.equal(consumer.workers_dev, false);
  assert.match(api.build.command, / api$/);
  assert.match(consumer.build.command, / consumer$/);
});

test("only the consumer's build carries the renderer, and neither carries the standard fonts", () => {
  assert.equal(built(api, "index_bg.wasm").includes("hayro"), false);
  assert.equal(built(consumer, "index_bg.wasm").includes("hayro"), true);
  // A stretch of the middle of each font file (fonts/, served to the consumer as assets).
  for (const file of ["FoxitSans.pfb", "FoxitSerifBold.pfb"]) {
    const font = readFileSync(join(ROOT, "fonts", file));
    const probe = font.subarray(font.length >> 1, (font.length >> 1) + 64);
    assert.equal(built(consumer, "index_bg.wasm").includes(probe), false, file);
  }
});

test("each script has only its own entry points", () => {
  // worker-build's shim defines each handler the wasm exports on its entry class's prototype.
  const handlers = (config) =>
    [...built(config, "index.js").toString().matchAll(/prototype\.(fetch|queue|scheduled)=function/g)].map((m) => m[1]).sort();
  assert.deepEqual(handlers(api), ["fetch", "scheduled"]);
  assert.deepEqual(handlers(consumer), ["queue"]);
  assert.equal(built(api, "index.js").includes("LiveRoom"), true);
  assert.equal(built(consumer, "index.js").includes("LiveRoom"), false);
});

let w;
before(async () => {
  w = await startWorker();
});
after(() => w.close());

test("a score uploaded through the API script is processed by the consumer script", async () => {
  const s = await w.api.signup("scripts@example.com");
  const created = await w.api.uploadScore(s.access, makePdf({ pages: 2 }));
  const score = await w.api.settled(created.id, s.access);
  assert.deepEqual(score.processing.thumbnail, { state: "ok" });
  assert.equal(score.pages, 2);
  // The consumer's own log line, from the consumer script.
  assert.ok(w.logs.join("").includes('"msg":"task"'), "the consumer logged its tasks");
});

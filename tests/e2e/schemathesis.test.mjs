// Schemathesis (pinned in tests/schemathesis/requirements.txt, run by scripts/schemathesis.sh)
// over every operation of the served /openapi.json but the auth routes, with a user's token and
// every check: the Worker must answer what the document says, for data the document allows and
// for data it forbids. Ids of real scores, setlists, items, comments, links and presets are handed
// to Schemathesis (tests/schemathesis/schemathesis.toml, hooks.py) so the operations reach more
// than 404. A fixed seed and bounded examples keep the run deterministic and under a minute.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ROOT, startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

const SEED = process.env.SCHEMATHESIS_SEED ?? "1";
const MAX_EXAMPLES = process.env.SCHEMATHESIS_MAX_EXAMPLES ?? "50";

let w, dir, fixture;
before(async () => {
  w = await startWorker({
    // Thousands of requests in about a minute, all by one user: lift the per-user ceiling and
    // the upload-URL limit (both tested in limits.test.mjs) so the run reaches the handlers.
    ratelimits: { USER_LIMITER: { simple: { limit: 1_000_000, period: 60 } } },
    vars: { RATE_UPLOAD_URLS: "1000000/60", ACCESS_TTL_SECONDS: "3600" },
  });
  dir = mkdtempSync(join(tmpdir(), "scoremate-schemathesis-"));
  fixture = await makeFixture(w.api, w.url.toString());
  writeFileSync(join(dir, "fixture.json"), JSON.stringify(fixture, null, 2));
  // The settings plus the ids as dictionaries the settings bind to parameters.
  let config = readFileSync(join(ROOT, "tests/schemathesis/schemathesis.toml"), "utf8") + "\n";
  for (const [name, values] of Object.entries(fixture.dictionaries)) {
    config += `[dictionaries.${name}]\nvalues = ${JSON.stringify(values)}\n`;
  }
  writeFileSync(join(dir, "schemathesis.toml"), config);
});
after(async () => {
  await w?.close();
  if (dir && !process.env.SCHEMATHESIS_KEEP) rmSync(dir, { recursive: true, force: true });
});

const ok = (res, status, what) => {
  assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`);
  return res.body;
};

/** A user with scores, favorites, history, versions, setlists (items, a member, comments, a link) and a preset. */
async function makeFixture(api, url) {
  const me = await api.signup("fuzz@schemathesis.example");
  const band = await api.signup("band@schemathesis.example");
  const t = me.access;
  const scores = [];
  for (const [title, pages] of [["Autumn Leaves", 1], ["Blue Bossa", 2], ["Caravan", 1]]) {
    scores.push(await api.uploadScore(t, makePdf({ title, pages }), { title, composer: "Trad.", tags: ["jazz"] }));
  }
  for (const s of scores) await api.settled(s.id, t);
  ok(await api.patch(`/v1/scores/${scores[0].id}`, { rating: 4 }, t), 200, "a second version");
  ok(await api.json("PUT", `/v1/scores/${scores[0].id}/favorite`, undefined, t), 204, "favorite");
  ok(await api.json("POST", `/v1/scores/${scores[0].id}/opened`, undefined, t), 204, "opened");
  const download = ok(await api.get(`/v1/scores/${scores[0].id}/download-url`, t), 200, "download url");

  const setlist = ok(await api.post("/v1/setlists", { name: "Friday", venue: "Blue Note", event_date: "2026-12-04" }, t), 201, "setlist").setlist;
  const doomedSetlist = ok(await api.post("/v1/setlists", { name: "Cancelled" }, t), 201, "setlist").setlist;
  for (const s of [scores[0], scores[1], scores[0]]) {
    ok(await api.post(`/v1/setlists/${setlist.id}/items`, { score_id: s.id }, t), 201, "item");
  }
  const items = ok(await api.get(`/v1/setlists/${setlist.id}`, t), 200, "setlist").setlist.items.map((i) => i.id);
  ok(await api.post(`/v1/setlists/${setlist.id}/members`, { email: band.user.email, role: "viewer" }, t), 201, "member");
  const comments = [];
  for (const [item, body] of [[items[0], "capo 2"], [items[1], "slow intro"], [items[0], "tacet"]]) {
    comments.push(ok(await api.post(`/v1/setlists/${setlist.id}/items/${item}/comments`, { body }, t), 201, "comment").comment.id);
  }
  const link = ok(await api.post(`/v1/setlists/${setlist.id}/links`, {}, t), 201, "link").link;
  const bookmarks = [];
  for (const [i, s] of scores.slice(0, 2).entries()) {
    bookmarks.push(ok(await api.post(`/v1/scores/${s.id}/bookmarks`, { title: `Part ${i}`, first_page: 1, last_page: 1 }, t), 201, "bookmark").bookmark.id);
  }
  const doomedBookmark = ok(await api.post(`/v1/scores/${scores[1].id}/bookmarks`, { title: "Doomed", first_page: 1, last_page: 2 }, t), 201, "bookmark").bookmark.id;
  const parts = [];
  for (const [i, s] of scores.slice(0, 2).entries()) {
    parts.push(ok(await api.post(`/v1/scores/${s.id}/parts`, { name: `Horn ${i}`, pages: { first: 1, last: 1 } }, t), 201, "part").part.id);
  }
  const doomedPart = ok(await api.post(`/v1/scores/${scores[1].id}/parts`, { name: "Doomed", pages: { first: 1, last: 2 } }, t), 201, "part").part.id;
  const preset = ok(await api.post("/v1/presets", { kind: "instrumentation", name: "Duo", parts: ["violin", "piano"] }, t), 201, "preset").preset;
  return {
    url,
    token: t,
    member_emails: [band.user.email],
    dictionaries: {
      scores: [scores[0].id, scores[1].id],
      scores_to_delete: [scores[2].id],
      setlists: [setlist.id],
      setlists_to_delete: [doomedSetlist.id],
      items,
      comments,
      links: [link.id],
      link_tokens: [link.token],
      members: [band.user.id],
      presets: [preset.id, "pre_string_quartet", "pre_genre_jazz"],
      bookmarks,
      bookmarks_to_delete: [doomedBookmark],
      parts,
      parts_to_delete: [doomedPart],
      blob_tokens: [download.url.split("/v1/blobs/")[1]],
    },
  };
}

/** Runs scripts/schemathesis.sh with `args`; resolves with its exit code and output. */
function schemathesis(args) {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [join(ROOT, "scripts/schemathesis.sh"), ...args], {
      cwd: dir,
      env: {
        ...process.env,
        SCHEMATHESIS_HOOKS: join(ROOT, "tests/schemathesis/hooks.py"),
        SCOREMATE_FIXTURE: join(dir, "fixture.json"),
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (b) => (output += b));
    child.stderr.on("data", (b) => (output += b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

test("Schemathesis finds no failure in any non-auth operation", { timeout: 10 * 60_000 }, async () => {
  const report = join(dir, "report.json");
  const { code, output } = await schemathesis([
    "--config-file", join(dir, "schemathesis.toml"),
    "run", new URL("/openapi.json", fixture.url).href,
    "--checks", "all",
    "-H", `Authorization: Bearer ${fixture.token}`,
    // Auth routes are rate-limited by design; /v1/live/{ticket} is a WebSocket upgrade (a valid
    // ticket without `Upgrade` is 426 on purpose), tested in live.test.mjs and authz.test.mjs.
    "--exclude-path-regex", "^/v1/(auth|live)/",
    "--mode", "all",
    "--phases", "examples,coverage,fuzzing,stateful",
    "--seed", SEED,
    "--max-examples", MAX_EXAMPLES,
    // One worker: Python 3.11's ast module is not thread-safe (cpython#106905), and Hypothesis
    // parses lambdas while generating, so two workers fail now and then with "AST constructor
    // recursion depth mismatch". The Worker answers in milliseconds; one worker costs seconds.
    "--workers", "1",
    // A slow answer is not a wrong one: on a loaded 2-core machine `DELETE /v1/trash` (up to 100
    // purges, each an R2 delete) once passed the default 10 s and failed the run as a timeout.
    // Latency has its own benchmarks (bench/).
    "--request-timeout", "30",
    "--continue-on-failure",
    "--report", "junit,json",
    "--report-dir", dir,
    "--report-json-path", report,
    "--no-color",
  ]);
  // Failures in full, then the summary; everything when Schemathesis could not run at all.
  const start = output.search(/^=+ (ERRORS|FAILURES|WARNINGS|SUMMARY) =+$/m);
  console.log(start >= 0 ? output.slice(start) : output);
  let result;
  try {
    result = JSON.parse(readFileSync(report, "utf8"));
  } catch (e) {
    assert.fail(`no report from Schemathesis (exit ${code}): ${e.message}\n${output.slice(-4000)}`);
  }
  assert.equal(result.schemathesis_version, "4.32.5");
  assert.ok(result.complete, `the run stopped early: ${result.stop_reason}`);
  assert.ok(result.operations.tested >= 40, `only ${result.operations.tested} operations tested`);
  const failures = result.failures.map((f) => `${f.code} ${f.title} ×${f.count}: ${f.operations.join(", ")}`);
  const errors = result.errors.map((e) => JSON.stringify(e));
  assert.deepEqual([...failures, ...errors], [], `Schemathesis reported ${result.test_cases.unique_failures} unique failures`);
  assert.equal(code, 0, "schemathesis exit code");
});

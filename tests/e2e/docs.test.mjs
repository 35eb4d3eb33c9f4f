// Swagger UI at /docs, in a real browser (Debian's chromium, headless, driven by playwright-core):
// the page loads from the Worker's own static assets under a strict CSP, shows the operations,
// takes a bearer token obtained from /v1/auth/login under "Authorize", and executes GET /v1/me.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, test } from "node:test";
import { chromium } from "playwright-core";
import WebSocket from "ws";
import { startWorker } from "./harness.mjs";
import { makePdf } from "./pdf.mjs";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
let w, browser;
before(async () => {
  w = await startWorker();
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: scripts/test.sh installs Debian's chromium`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
after(async () => {
  await browser?.close();
  await w.close();
});

test("the docs page and its files carry a strict CSP and need nothing from outside", async () => {
  const page = await w.api.raw("GET", "/docs");
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type"), /text\/html/);
  const csp = page.headers.get("content-security-policy");
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
  assert.equal(page.headers.get("x-frame-options"), "DENY");
  assert.doesNotMatch(page.body, /https?:\/\//, "no CDN");
  for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "init.js"]) {
    const res = await w.api.raw("GET", `/docs/${file}`);
    assert.equal(res.status, 200, file);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
  }
  assert.equal((await w.api.raw("GET", "/docs/nope.js")).status, 404);
  assert.equal((await w.api.raw("GET", "/docs/..%2Fwrangler.toml")).status, 404);
});

test("a browser sees the operations, authorises with a login token and runs GET /v1/me", async () => {
  const user = await w.api.signup("browser@docs.example");
  const login = await w.api.post("/v1/auth/login", { email: user.user.email, password: user.password });
  const token = login.body.access;
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("request", (r) => { if (!r.url().startsWith(w.url.origin)) problems.push(`outside request: ${r.url()}`); });
  page.on("response", (r) => { if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`); });

  await page.goto(new URL("/docs", w.url).href);
  await page.waitForSelector(".opblock", { timeout: 30000 });
  const operations = await page.locator(".opblock").count();
  assert.ok(operations > 50, `only ${operations} operations shown`);

  await page.click("button.authorize");
  await page.fill(".modal-ux input[type=text], .modal-ux input:not([type])", token);
  await page.click(".modal-ux button.authorize");
  await page.click(".modal-ux button.btn-done");

  const op = page.locator("#operations-me-GetMe");
  await op.locator(".opblock-summary").click();
  await op.locator("button.try-out__btn").click();
  await op.locator("button.execute").click();
  const status = op.locator(".live-responses-table tr.response .response-col_status").first();
  await status.waitFor({ timeout: 15000 });
  assert.equal((await status.innerText()).trim(), "200");
  const body = await op.locator(".live-responses-table tr.response .response-col_description pre").first().innerText();
  assert.equal(JSON.parse(body).user.email, user.user.email);
  assert.deepEqual(problems, []);
  await context.close();
});

test("the live page joins a room with a ticket and shows the leader's piece and page", async () => {
  const api = w.api;
  const owner = await api.signup("leader@docs.example");
  const follower = await api.signup("follower@docs.example");
  const score = await api.uploadScore(owner.access, makePdf({ title: "Nardis" }), { title: "Nardis" });
  const setlist = (await api.post("/v1/setlists", { name: "Live page" }, owner.access)).body.setlist.id;
  await api.post(`/v1/setlists/${setlist}/members`, { email: follower.user.email, role: "viewer" }, owner.access);
  const item = (await api.post(`/v1/setlists/${setlist}/items`, { score_id: score.id }, owner.access)).body.setlist.items[0].id;

  const res = await api.raw("GET", "/docs/live");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type"), /text\/html/);
  assert.doesNotMatch(res.headers.get("content-security-policy"), /unsafe-inline|unsafe-eval|https?:/);
  assert.doesNotMatch(res.body, /https?:\/\//, "no CDN");

  const ticket = (await api.post(`/v1/setlists/${setlist}/live/ticket`, undefined, follower.access)).body.ticket;
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems = [];
  page.on("console", (m) => { if (m.type() === "error") problems.push(m.text()); });
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("request", (r) => { if (!r.url().startsWith(w.url.origin)) problems.push(`outside request: ${r.url()}`); });
  await page.goto(new URL(`/docs/live#ticket=${ticket}`, w.url).href);
  await page.locator("#status", { hasText: "connected" }).waitFor({ timeout: 15000 });
  assert.equal(await page.locator("#role").innerText(), "viewer");

  // The leader, from outside the browser, leads and moves the band.
  const leadTicket = (await api.post(`/v1/setlists/${setlist}/live/ticket`, undefined, owner.access)).body;
  const lead = new WebSocket(`ws://${w.url.host}${new URL(leadTicket.url).pathname}`);
  await new Promise((resolve, reject) => { lead.on("open", resolve); lead.on("error", reject); });
  lead.send(JSON.stringify({ type: "lead" }));
  lead.send(JSON.stringify({ type: "goto", item_id: item, page: 5 }));
  await page.locator("#page", { hasText: "5" }).waitFor({ timeout: 15000 });
  assert.equal(await page.locator("#piece").innerText(), item);
  assert.equal(await page.locator("#leader").innerText(), owner.user.id);
  lead.close();
  assert.deepEqual(problems, []);
  await context.close();
});

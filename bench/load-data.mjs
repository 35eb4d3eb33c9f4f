// Writes SQL that loads benchmark data into ScoreMate's schema:
//  - the peers' data set (../shared/peers/common/gen-data.mjs: 50 users x 200 scores x 3 tags),
//    mapped to ScoreMate ids, when its seed.json is given;
//  - one more user, big@example.test, with 1 000 scores x 3 tags (issue 3's list benchmark).
// Every user has the password given, hashed once (PHC string passed in).
// usage: node bench/load-data.mjs OUT.sql PHC_HASH [PEERS_SEED_JSON]
import { readFileSync, writeFileSync } from "node:fs";

const [out, phc, seedPath] = process.argv.slice(2);
if (!out || !phc) {
  console.error("usage: node bench/load-data.mjs OUT.sql PHC_HASH [PEERS_SEED_JSON]");
  process.exit(2);
}
const q = (v) => (v === null || v === undefined ? "null" : typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`);
const hex32 = (s) => s.replace(/[^0-9a-f]/g, "").padStart(32, "0").slice(-32);
const userId = (n) => `usr_${n.toString(16).padStart(32, "0")}`;
const sql = [];
const users = [], scores = [];

let state = 42;
const rand = () => ((state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

if (seedPath) {
  const seed = JSON.parse(readFileSync(seedPath, "utf8"));
  for (const u of seed.users) users.push({ id: userId(u.id), email: u.email, name: u.display_name, created_at: u.created_at });
  for (const s of seed.scores) scores.push({ ...s, id: `sco_${hex32(s.id)}`, user_id: userId(s.user_id) });
}
const big = { id: userId(9999), email: "big@example.test", name: "Big Library", created_at: "2024-01-01T00:00:00Z" };
users.push(big);
const TAGS = ["baroque", "classical", "romantic", "modern", "exam", "concert", "practice", "gig", "wedding", "sacred", "solo", "duet"];
for (let i = 0; i < 1000; i++) {
  const tags = new Set();
  while (tags.size < 3) tags.add(pick(TAGS));
  const created = Date.UTC(2024, 0, 1) + Math.floor(rand() * 400 * 86400e3);
  scores.push({
    id: `sco_${(0xb16000 + i).toString(16).padStart(32, "0")}`, user_id: big.id, title: `Etude No. ${i + 1}`,
    composer: pick(["F. Chopin", "J. S. Bach", "C. Debussy", "F. Liszt"]), instrumentation: pick(["piano", "violin and piano", "choir SATB"]),
    pages: 1 + Math.floor(rand() * 40), size_bytes: 40000 + Math.floor(rand() * 5e6),
    created_at: new Date(created).toISOString(), updated_at: new Date(created + Math.floor(rand() * 200 * 86400e3)).toISOString(), tags: [...tags],
  });
}

// LOAD_FAR=1 (bench/shards.sh): the same library again for far@example.test, whose ids carry
// virtual shard ff, so that with two databases it lives in the second (src/domain/shard.rs).
if (process.env.LOAD_FAR === "1") {
  const far = { id: `usr_ff${(9998).toString(16).padStart(30, "0")}`, email: "far@example.test", name: "Far Library", created_at: big.created_at };
  users.push(far);
  const mine = scores.filter((s) => s.user_id === big.id);
  mine.forEach((s, i) => scores.push({ ...s, id: `sco_ff${(0xb17000 + i).toString(16).padStart(30, "0")}`, user_id: far.id }));
}

const used = new Map();
for (const s of scores) used.set(s.user_id, (used.get(s.user_id) ?? 0) + s.size_bytes);
const chunk = (rows, n) => Array.from({ length: Math.ceil(rows.length / n) }, (_, i) => rows.slice(i * n, i * n + n));
for (const part of chunk(users, 100)) {
  sql.push(`insert into users (id, email, password_hash, display_name, quota_bytes, used_bytes, created_at, updated_at) values\n${part
    .map((u) => `(${[u.id, u.email, phc, u.name, 1 << 40, used.get(u.id) ?? 0, u.created_at, u.created_at].map(q).join(",")})`).join(",\n")};`);
}
for (const part of chunk(scores, 200)) {
  sql.push(`insert into scores (id, user_id, upload_id, object_key, filename, title, composer, instrumentation, tags, content_hash, size_bytes, pages, pdf_info_state, thumbnail_state, created_at, updated_at) values\n${part
    .map((s) => `(${[s.id, s.user_id, `upl_${s.id.slice(4)}`, `u/${s.user_id}/s/upl_${s.id.slice(4)}.pdf`, "score.pdf", s.title, s.composer, s.instrumentation, JSON.stringify([...s.tags].sort()), s.id.slice(4).padEnd(64, "0"), s.size_bytes, s.pages, "ok", "ok", s.created_at, s.updated_at].map(q).join(",")})`).join(",\n")};`);
}
const tagRows = scores.flatMap((s) => s.tags.map((t) => [s.id, t]));
for (const part of chunk(tagRows, 500)) {
  sql.push(`insert into score_tags (score_id, tag) values\n${part.map((r) => `(${r.map(q).join(",")})`).join(",\n")};`);
}
writeFileSync(out, sql.join("\n") + "\n");
console.error(`load-data: ${users.length} users, ${scores.length} scores, ${tagRows.length} tags -> ${out}`);

// The library's invariants, checked after races and faults (SPEC §7 "nothing is lost"):
// the quota ledger equals what the rows say (scores and annotation layers), every score came from a consumed upload, setlist positions
// are dense, and (with `objects: true`, after the sweep and queue have run) no object in R2 lacks
// a row that owns it.
import assert from "node:assert/strict";

const LEDGER = `
select u.id, u.used_bytes, u.reserved_bytes,
  coalesce((select sum(size_bytes) from scores s where s.user_id = u.id), 0)
    + coalesce((select sum(size_bytes) from score_parts t where t.user_id = u.id), 0)
    + coalesce((select sum(bytes) from annotations a where a.user_id = u.id), 0) as live_bytes,
  coalesce((select sum(size_bytes) from uploads p where p.user_id = u.id and p.state in ('reserved', 'stored')), 0) as open_bytes
from users u`;

export async function invariants(w, { objects = false } = {}) {
  const db = await w.db();
  for (const row of (await db.prepare(LEDGER).all()).results) {
    assert.equal(row.used_bytes, row.live_bytes, `used_bytes of ${row.id}`);
    assert.equal(row.reserved_bytes, row.open_bytes, `reserved_bytes of ${row.id}`);
  }
  const unbacked = await db.prepare(
    "select s.id from scores s left join uploads p on p.id = s.upload_id and p.state = 'consumed' and p.score_id = s.id where p.id is null",
  ).all();
  assert.deepEqual(unbacked.results, [], "scores without the consumed upload they came from");
  const unbackedParts = await db.prepare(
    "select t.id from score_parts t left join uploads p on p.id = t.upload_id and p.state = 'consumed' and p.score_id = t.id where t.source = 'upload' and p.id is null",
  ).all();
  assert.deepEqual(unbackedParts.results, [], "upload parts without the consumed upload they came from");
  const gaps = await db.prepare(
    "select setlist_id from setlist_items group by setlist_id having max(position) <> count(*) or min(position) <> 1 or count(distinct position) <> count(*)",
  ).all();
  assert.deepEqual(gaps.results, [], "setlists whose positions are not dense");
  if (objects) {
    const bucket = await w.bucket();
    const owned = new Set();
    const keys = await db.prepare(
      "select object_key as k from scores union all select object_key from score_parts where object_key is not null union all select object_key from uploads where state in ('reserved', 'stored') union all select object_key from deletions",
    ).all();
    for (const r of keys.results) owned.add(r.k);
    let cursor;
    do {
      const listed = await bucket.list({ cursor, limit: 1000 });
      for (const o of listed.objects) {
        // Derived objects live under the PDF's key without ".pdf" (storage::keys::derived_prefix).
        const pdf = o.key.replace(/\/[^/]+\.png$/, ".pdf");
        assert.ok(owned.has(o.key) || owned.has(pdf), `object ${o.key} has no row`);
      }
      cursor = listed.truncated ? listed.cursor : undefined;
    } while (cursor);
  }
}

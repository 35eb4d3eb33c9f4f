// Shared by the benchmark drivers: a JSON client of a running Worker and workerd's resident
// memory.
import { readFileSync } from "node:fs";

/** `json(method, path, body?, token?)` against `base`: `{status, body}` (body parsed when JSON). */
export const client = (base) => (method, path, body, token) =>
  fetch(base + path, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body && JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json().catch(() => null) }));

/** The resident memory (KiB) of the processes `pids` (comma-separated) together. */
export const rss = (pids) => pids.split(",").filter(Boolean).reduce((sum, pid) => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return sum + (m ? Number(m[1]) : 0);
}, 0);

// Migrations through wrangler's own tracking: apply to an empty local D1, then re-run safely.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { applyMigrations } from "./harness.mjs";

test("migrations apply to an empty D1 and a second apply is a no-op", () => {
  const dir = mkdtempSync(join(tmpdir(), "scoremate-mig-"));
  try {
    const first = applyMigrations(dir);
    assert.match(first, /0001_accounts\.sql/);
    const second = applyMigrations(dir);
    assert.match(second, /No migrations to apply/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

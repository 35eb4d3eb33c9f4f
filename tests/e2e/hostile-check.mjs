// Self-check of tests/e2e/hostile.mjs (not a node --test file): every generator returns a PDF
// whose cross-reference table points at its objects, the bombs are small and inflate to what
// they claim, and, where qpdf is installed, qpdf parses each file.
//   node tests/e2e/hostile-check.mjs
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { all, deflatedZeros } from "./hostile.mjs";

const MIB = 1024 * 1024;

function checkXref(name, pdf) {
  const text = pdf.toString("latin1");
  assert.ok(text.startsWith("%PDF-1.7"), name);
  const start = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)?.[1]);
  assert.equal(text.slice(start, start + 4), "xref", `${name}: startxref`);
  const rows = text.slice(start).split("\n").slice(3).filter((r) => /^\d{10} 00000 n $/.test(r));
  rows.forEach((row, i) => {
    const at = Number(row.slice(0, 10));
    assert.equal(text.slice(at, at + `${i + 1} 0 obj`.length), `${i + 1} 0 obj`, `${name}: object ${i + 1}`);
  });
  return rows.length;
}

let qpdf = true;
try {
  execFileSync("qpdf", ["--version"], { stdio: "ignore" });
} catch {
  qpdf = false;
}

// A small bomb inflates to exactly its size (the big ones are the same fragment repeated).
assert.equal(inflateSync(deflatedZeros(3)).length, 3 * MIB);
assert.ok(deflatedZeros(300).length < MIB);

const dir = mkdtempSync(join(tmpdir(), "hostile-"));
let passed = 0;
let failed = 0;
try {
  for (const [name, make] of Object.entries(all)) {
    const pdf = make();
    try {
      const objects = checkXref(name, pdf);
      let verdict = "qpdf not installed";
      if (qpdf) {
        const file = join(dir, `${name}.pdf`);
        writeFileSync(file, pdf);
        try {
          // Parse structure only; decoding the bombs is what the server must refuse to do.
          execFileSync("qpdf", ["--check", "--decode-level=none", file], { stdio: "pipe", maxBuffer: 256 * MIB });
          verdict = "qpdf --check: ok";
        } catch (e) {
          const out = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim().split("\n").slice(-1)[0];
          // qpdf exits 3 for warnings (a file it repaired or a stream it would not read).
          assert.ok(e.status === 3 || e.status === 2, `${name}: qpdf exited ${e.status}: ${out}`);
          verdict = `qpdf --check: exit ${e.status} (${out})`;
        }
      }
      console.log(`ok ${name}: ${pdf.length} bytes, ${objects} objects, ${verdict}`);
      passed += 1;
    } catch (e) {
      console.log(`FAIL ${name}: ${e.message}`);
      failed += 1;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;

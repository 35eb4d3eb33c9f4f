// The Worker in `s3` presign mode: its upload URL equals the AWS SDK's for the same clock, and an
// independent S3 server (s3s-fs, verifying SigV4) accepts the declared body through it and
// refuses another one.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { ROOT, eventually, startWorker } from "./harness.mjs";
import { makePdf, sha256 } from "./pdf.mjs";

const KEY_ID = "AKIAIOSFODNN7EXAMPLE", SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
let w, s3, dir, endpoint;

const freePort = () => new Promise((resolve) => {
  const srv = createServer().listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "scoremate-s3-"));
  mkdirSync(join(dir, "scoremate-files"));
  const port = await freePort();
  endpoint = `http://127.0.0.1:${port}`;
  s3 = spawn(join(ROOT, ".tools/bin/s3s-fs"), ["--host", "127.0.0.1", "--port", String(port), "--access-key", KEY_ID, "--secret-key", SECRET, dir], { stdio: "ignore" });
  await eventually(async () => fetch(endpoint).then(() => true, () => false));
  w = await startWorker({
    vars: { PRESIGN_MODE: "s3", S3_ENDPOINT: endpoint, S3_BUCKET: "scoremate-files", S3_REGION: "auto", S3_ACCESS_KEY_ID: KEY_ID, S3_SECRET_ACCESS_KEY: SECRET },
  });
});
after(async () => {
  await w?.close();
  s3?.kill();
  rmSync(dir, { recursive: true, force: true });
});

test("the upload URL is the AWS SDK's, and a real S3 server takes exactly the declared body", async () => {
  const s = await w.api.signup("s3mode@example.com");
  const bytes = makePdf();
  const up = await w.api.post("/v1/uploads", { filename: "a.pdf", size: bytes.length, mime: "application/pdf", sha256: sha256(bytes) }, s.access);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  const { url, headers } = up.body;
  assert.equal(headers["x-amz-checksum-sha256"], Buffer.from(sha256(bytes), "hex").toString("base64"));

  const amzDate = new URL(url).searchParams.get("X-Amz-Date");
  const signingDate = new Date(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, "$1-$2-$3T$4:$5:$6Z"));
  const client = new S3Client({ endpoint, region: "auto", forcePathStyle: true, credentials: { accessKeyId: KEY_ID, secretAccessKey: SECRET } });
  const sdk = await getSignedUrl(client, new PutObjectCommand({
    Bucket: "scoremate-files", Key: `u/${s.user.id}/s/${up.body.upload_id}.pdf`, ContentType: "application/pdf",
    ContentLength: bytes.length, ChecksumSHA256: headers["x-amz-checksum-sha256"],
  }), { expiresIn: 900, signingDate, unhoistableHeaders: new Set(["x-amz-checksum-sha256"]), signableHeaders: new Set(["content-type", "content-length"]) });
  assert.equal(url, sdk);

  const other = Buffer.from(bytes);
  other[20] ^= 1;
  assert.equal((await fetch(url, { method: "PUT", headers, body: other })).status, 400);
  const res = await fetch(url, { method: "PUT", headers, body: bytes });
  assert.equal(res.status, 200, await res.text());
});

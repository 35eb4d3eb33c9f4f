// Prints the AWS SDK for JavaScript's presigned PUT URL for the inputs given as JSON on argv[2]:
// {endpoint, bucket, key, access_key_id, secret_access_key, region, content_type,
//  content_length, checksum_sha256_b64, signing_date (RFC 3339), expires_in}
// Used to cross-check ScoreMate's SigV4 presigner byte for byte.
import { PutObjectCommand, GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";

const i = JSON.parse(process.argv[2]);
const client = new S3Client({
  endpoint: i.endpoint,
  region: i.region,
  forcePathStyle: true,
  credentials: { accessKeyId: i.access_key_id, secretAccessKey: i.secret_access_key },
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
const command = i.method === "GET"
  ? new GetObjectCommand({ Bucket: i.bucket, Key: i.key })
  : new PutObjectCommand({
      Bucket: i.bucket,
      Key: i.key,
      ContentType: i.content_type,
      ContentLength: i.content_length,
      ChecksumSHA256: i.checksum_sha256_b64,
    });
const url = await getSignedUrl(client, command, {
  expiresIn: i.expires_in,
  signingDate: new Date(i.signing_date),
  // Sign these as headers (not query parameters) so the client must send them and storage
  // checks the body against them.
  unhoistableHeaders: new Set(["x-amz-checksum-sha256"]),
  signableHeaders: new Set(["content-type", "content-length"]),
});
console.log(url);

//! Object storage rules: server-built keys, presigned URLs (SigV4 for R2's S3 endpoint, or
//! Worker-signed blob tokens), and HTTP Range. Pure; time and secrets are passed in.

pub mod keys;
pub mod presign;
pub mod range;
pub mod signed;
pub mod sigv4;

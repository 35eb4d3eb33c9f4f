-- Hardening (issue 12): an object may be written after its upload stopped counting (a
-- presigned PUT still valid when the upload was released, or its score deleted), so a deletion
-- is not done before `not_before` — the upload URL's expiry — and the sweep deletes the key
-- again once that time has passed.
alter table deletions add column not_before text;

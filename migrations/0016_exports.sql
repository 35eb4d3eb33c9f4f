-- Library exports (issue 16, SPEC §11): one row per export asked for, its state (pending →
-- running → done | failed), its archive and when it goes. The queue writes the ZIP with an R2
-- multipart upload at `object_key` (built by the server from the ids); `upload_id` is the
-- multipart upload of the delivery now writing it, so a later delivery, the sweep or a deletion
-- can abort it; `attempt` counts deliveries that took the export over, and every write of a
-- delivery is conditional on its own attempt, so an overtaken delivery changes nothing.
-- Exports are not counted in the quota; they go `expires_at` after they end (done or failed).
create table exports (
  id          text primary key,
  user_id     text not null references users (id) on delete cascade,
  state       text not null check (state in ('pending', 'running', 'done', 'failed')),
  object_key  text not null,
  upload_id   text,
  attempt     integer not null default 0,
  size_bytes  integer,
  parts       integer,
  reason      text,
  created_at  text not null,
  updated_at  text not null,
  expires_at  text
);
create index exports_user on exports (user_id, created_at desc, id desc);
-- At most one export pending or running per user: a second request gets the first.
create unique index exports_one_open on exports (user_id) where state in ('pending', 'running');
-- The sweep: exports that stopped moving, and those past their time.
create index exports_open on exports (updated_at) where state in ('pending', 'running');
create index exports_expiry on exports (expires_at) where expires_at is not null;

-- Multipart uploads to abort: an export's upload that a failure, a takeover or a deletion left
-- open (R2 keeps an open upload's parts until it is aborted). The sweep aborts each and forgets
-- it; aborting one already gone succeeds.
create table multipart_aborts (
  object_key   text not null,
  upload_id    text not null,
  requested_at text not null,
  primary key (object_key, upload_id)
) without rowid;

-- An export's row going (expired, or its owner's account deleted) takes its archive with it
-- through the deletion outbox, and any upload still open through the abort outbox.
create trigger exports_gone after delete on exports begin
  insert or ignore into deletions (object_key, requested_at)
    values (old.object_key, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
  insert or ignore into multipart_aborts (object_key, upload_id, requested_at)
    select old.object_key, old.upload_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    where old.upload_id is not null;
end;

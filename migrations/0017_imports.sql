-- Library imports (issue 16, SPEC §11): an archive made by the export, uploaded through the
-- upload flow (`mime` application/zip) and read by the queue's `import` task.

-- One row per import asked for. The archive stays an open upload while its import runs (its
-- reservation counts against the quota until the import ends), and is released with the import's
-- outcome (decision 100). `seed`: the randomness the import's new ids derive from, so a
-- redelivered task plans the same ids and object keys (decision 102). `claim`: set by the commit
-- batch's first statement; the batch's other statements only apply while it holds (decision 103).
-- `statements`: the D1 statements the import ran (the benchmark's figure).
create table imports (
  id          text primary key,
  user_id     text not null references users (id) on delete cascade,
  upload_id   text not null references uploads (id),
  dry_run     integer not null check (dry_run in (0, 1)),
  state       text not null check (state in ('pending', 'running', 'done', 'failed')),
  reason      text,
  report      text check (report is null or json_valid(report)),
  seed        text not null,
  claim       text,
  statements  integer not null default 0,
  created_at  text not null,
  updated_at  text not null,
  finished_at text
);
-- An archive is imported once (dry runs of it as often as asked).
create unique index imports_upload on imports (upload_id) where dry_run = 0;
-- One import at a time per user (a second is 409 while the first runs).
create unique index imports_running on imports (user_id) where state in ('pending', 'running');
-- Imports still running, for the sweep (lost messages, imports that never finish).
create index imports_unfinished on imports (updated_at) where state in ('pending', 'running');
create index imports_user on imports (user_id, created_at);

-- The rows an import will create, staged in JSON chunks (each well under D1's row limit) over
-- as many batches as they take, invisible to the library; the commit batch inserts them all at
-- once from here and deletes them. Also the files to copy (`copies`) and the import's figures
-- (`meta`, written last: staging is complete once it exists).
create table import_chunks (
  import_id text not null references imports (id) on delete cascade,
  kind      text not null,
  seq       integer not null,
  rows      text not null check (json_valid(rows)),
  primary key (import_id, kind, seq)
) without rowid;

-- What an import made, by the id the archive gave it: a second import of the same archive (or
-- a later export of the same library) finds the setlist it made and does not make it again, as
-- long as that setlist exists (decision 102).
create table import_origins (
  user_id    text not null references users (id) on delete cascade,
  kind       text not null check (kind in ('setlist')),
  source_id  text not null,
  target_id  text not null,
  import_id  text not null,
  created_at text not null,
  primary key (user_id, kind, source_id)
) without rowid;

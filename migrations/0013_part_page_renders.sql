-- Page images of a part uploaded as its own PDF (SPEC §10), as `page_renders` are a score's: one
-- row per requested page and width, `pending` while the queue renders it, then `ok` with its size
-- or `failed` with the reason. Counted with the part's thumbnail against the part's budget;
-- deleted with the part (and so with its score); the images live under the part's derived prefix,
-- which its `delete_file` removes.
create table part_page_renders (
  part_id    text not null references score_parts(id) on delete cascade,
  page       integer not null check (page >= 1),
  width      integer not null check (width >= 1),
  state      text not null check (state in ('pending', 'ok', 'failed')),
  reason     text,
  bytes      integer not null default 0 check (bytes >= 0),
  created_at text not null,
  updated_at text not null,
  primary key (part_id, page, width)
) without rowid;
create index part_page_renders_pending on part_page_renders (updated_at) where state = 'pending';

-- Library (SPEC §2, §3): upload reservations, scores with tags and full-text search, and the
-- outbox of objects to delete.

-- An upload reservation. Quota is reserved when the row is created and converted to usage
-- (consumed) or released (expired, released) exactly once: every transition is a conditional
-- update on `state`, in the same D1 batch as the matching change to users.*_bytes.
create table uploads (
  id               text primary key,
  user_id          text not null references users(id) on delete cascade,
  filename         text not null,
  size_bytes       integer not null check (size_bytes > 0),
  mime             text not null,
  sha256           text not null,
  object_key       text not null unique,
  state            text not null default 'reserved'
                   check (state in ('reserved', 'stored', 'consumed', 'expired', 'released')),
  expires_at       text not null,  -- the upload URL stops working
  consumable_until text not null,  -- expires_at + grace: POST /v1/scores still accepts it
  score_id         text,
  created_at       text not null,
  updated_at       text not null
);
create index uploads_sweep on uploads (state, consumable_until);
create index uploads_user on uploads (user_id, state);

-- `seq` is an explicit rowid so the external-content FTS index keeps pointing at the right rows.
create table scores (
  seq              integer primary key,
  id               text not null unique,
  user_id          text not null references users(id) on delete cascade,
  upload_id        text not null unique,
  object_key       text not null,
  filename         text not null,
  title            text not null,
  composer         text,
  arranger         text,
  instrumentation  text,
  key              text,
  notes            text,
  -- The tags as a sorted JSON array, written in the same batch as score_tags (which serves the
  -- tag filters); lists read this column instead of a subquery per row.
  tags             text not null default '[]' check (json_valid(tags)),
  rating           integer check (rating between 1 and 5),
  difficulty       integer check (difficulty between 1 and 5),
  duration         integer check (duration > 0),
  content_hash     text not null,
  size_bytes       integer not null,
  pages            integer,
  pdf_meta         text check (pdf_meta is null or json_valid(pdf_meta)),
  suggestions      text not null default '{}' check (json_valid(suggestions)),
  thumbnail_key    text,
  pdf_info_state   text not null default 'pending' check (pdf_info_state in ('pending', 'ok', 'failed')),
  pdf_info_reason  text,
  thumbnail_state  text not null default 'pending' check (thumbnail_state in ('pending', 'ok', 'failed')),
  thumbnail_reason text,
  created_at       text not null,
  updated_at       text not null
);
-- Dedupe: one score per file content per user.
create unique index scores_user_hash on scores (user_id, content_hash);
-- Serves the default listing (newest update first) without a sort.
create index scores_user_updated on scores (user_id, updated_at desc, id desc);
create index scores_user_created on scores (user_id, created_at, id);
create index scores_user_title on scores (user_id, title collate nocase, id);

create table score_tags (
  score_id text not null references scores(id) on delete cascade,
  tag      text not null,
  primary key (score_id, tag)
) without rowid;
create index score_tags_tag on score_tags (tag, score_id);

create virtual table scores_fts using fts5(
  title, composer, notes,
  content = 'scores', content_rowid = 'seq',
  tokenize = 'unicode61 remove_diacritics 2'
);
create trigger scores_fts_insert after insert on scores begin
  insert into scores_fts (rowid, title, composer, notes) values (new.seq, new.title, new.composer, new.notes);
end;
create trigger scores_fts_delete after delete on scores begin
  insert into scores_fts (scores_fts, rowid, title, composer, notes) values ('delete', old.seq, old.title, old.composer, old.notes);
end;
create trigger scores_fts_update after update of title, composer, notes on scores begin
  insert into scores_fts (scores_fts, rowid, title, composer, notes) values ('delete', old.seq, old.title, old.composer, old.notes);
  insert into scores_fts (rowid, title, composer, notes) values (new.seq, new.title, new.composer, new.notes);
end;

-- Outbox of objects to delete. Written in the same batch that deletes a score, removed by the
-- delete_file task once the objects are gone; the sweep re-enqueues what lingers.
create table deletions (
  object_key   text primary key,
  requested_at text not null,
  attempts     integer not null default 0
);

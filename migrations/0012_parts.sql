-- Score parts and who plays what (issue 15, SPEC §10): a score's instrument parts, each a PDF of
-- its own (through the upload flow of §2, counted in the quota and processed like a score) or a
-- page range of the score's own PDF; a setlist member's assigned part.

create table score_parts (
  id               text primary key,
  score_id         text not null references scores(id) on delete cascade,
  user_id          text not null references users(id) on delete cascade,
  name             text not null,
  source           text not null check (source in ('upload', 'pages')),
  -- A pages part: its range of the score's PDF.
  first_page       integer check (first_page >= 1),
  last_page        integer check (last_page >= first_page),
  -- An upload part: the consumed upload, its object and content (size_bytes counts in used_bytes).
  upload_id        text unique,
  object_key       text,
  size_bytes       integer not null default 0 check (size_bytes >= 0),
  content_hash     text,
  -- An upload part's page count and thumbnail, set by its processing (as a score's).
  pages            integer,
  thumbnail_key    text,
  thumbnail_bytes  integer not null default 0,
  pdf_info_state   text not null default 'pending' check (pdf_info_state in ('pending', 'ok', 'failed')),
  pdf_info_reason  text,
  thumbnail_state  text not null default 'pending' check (thumbnail_state in ('pending', 'ok', 'failed')),
  thumbnail_reason text,
  created_at       text not null,
  updated_at       text not null,
  check ((source = 'pages' and first_page is not null and last_page is not null and upload_id is null)
      or (source = 'upload' and upload_id is not null and object_key is not null and content_hash is not null))
);
-- One name per score in any case; also serves the setlist view's match of a member's part.
create unique index score_parts_name on score_parts (score_id, name collate nocase);
-- Dedupe: one part per file content per user (as scores_user_hash for scores).
create unique index score_parts_user_hash on score_parts (user_id, content_hash) where content_hash is not null;
-- Upload parts whose processing has not finished, for the sweep.
create index score_parts_processing_pending on score_parts (created_at)
  where source = 'upload' and (pdf_info_state = 'pending' or thumbnail_state = 'pending');

-- Who plays what: the member's part name, matched case-insensitively against each item's parts.
alter table setlist_members add column part text;

-- Songbook bookmarks (issue 15, SPEC §10): named page ranges of one score's PDF, searched like
-- scores, placed in setlists, and extracted to a PDF of their own by the queue on request.

-- `seq` is an explicit rowid so the external-content FTS index keeps pointing at the right rows.
create table bookmarks (
  seq             integer primary key,
  id              text not null unique,
  user_id         text not null references users(id) on delete cascade,
  score_id        text not null references scores(id) on delete cascade,
  title           text not null,
  composer        text,
  key             text,
  -- Sorted JSON array, written in the same batch as bookmark_tags (which serves the filter).
  tags            text not null default '[]' check (json_valid(tags)),
  first_page      integer not null check (first_page >= 1),
  last_page       integer not null check (last_page >= first_page),
  -- The extracted PDF of the range: null until asked for, then pending → running → ok (stored
  -- at extract_key, extract_bytes long, counted in the songbook's derived budget) or failed
  -- with the reason later requests are told (never extracted twice).
  extract_state   text check (extract_state in ('pending', 'running', 'ok', 'failed')),
  extract_key     text,
  extract_reason  text,
  extract_bytes   integer not null default 0 check (extract_bytes >= 0),
  extract_at      text,
  created_at      text not null,
  updated_at      text not null
);
create index bookmarks_user_title on bookmarks (user_id, title collate nocase, id);
create index bookmarks_score on bookmarks (score_id, first_page);
create index bookmarks_extract_pending on bookmarks (extract_at) where extract_state in ('pending', 'running');

create table bookmark_tags (
  bookmark_id text not null references bookmarks(id) on delete cascade,
  tag         text not null,
  primary key (bookmark_id, tag)
) without rowid;
create index bookmark_tags_tag on bookmark_tags (tag, bookmark_id);

create virtual table bookmarks_fts using fts5(
  title, composer,
  content = 'bookmarks', content_rowid = 'seq',
  tokenize = 'unicode61 remove_diacritics 2'
);
create trigger bookmarks_fts_insert after insert on bookmarks begin
  insert into bookmarks_fts (rowid, title, composer) values (new.seq, new.title, new.composer);
end;
create trigger bookmarks_fts_delete after delete on bookmarks begin
  insert into bookmarks_fts (bookmarks_fts, rowid, title, composer) values ('delete', old.seq, old.title, old.composer);
end;
create trigger bookmarks_fts_update after update of title, composer on bookmarks begin
  insert into bookmarks_fts (bookmarks_fts, rowid, title, composer) values ('delete', old.seq, old.title, old.composer);
  insert into bookmarks_fts (rowid, title, composer) values (new.seq, new.title, new.composer);
end;

-- A setlist item may point at a bookmark; it keeps `score_id` = the songbook, so deleting the
-- songbook takes the item out through `scores_leave_setlists` (with its history event).
alter table setlist_items add column bookmark_id text references bookmarks(id) on delete cascade;
create index setlist_items_bookmark on setlist_items (bookmark_id) where bookmark_id is not null;

-- Deleting a bookmark on its own takes it out of every setlist as deleting a score does: a
-- history event, the gap closed, the version bumped.
create trigger bookmarks_leave_setlists before delete on bookmarks
when exists (select 1 from setlist_items where bookmark_id = old.id)
begin
  insert into setlist_events (setlist_id, kind, detail, created_at)
    select distinct setlist_id, 'bookmark_deleted',
           json_object('bookmark_id', old.id, 'score_id', old.score_id, 'title', old.title),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    from setlist_items where bookmark_id = old.id;
  update setlists set version = version + 1, write_token = null
    where id in (select setlist_id from setlist_items where bookmark_id = old.id);
  delete from setlist_items where bookmark_id = old.id;
  update setlist_items set position = dense.n
    from (select id, row_number() over (partition by setlist_id order by position, id) as n
          from setlist_items
          where setlist_id in (select setlist_id from setlist_events
                               where kind = 'bookmark_deleted' and json_extract(detail, '$.bookmark_id') = old.id)) as dense
    where setlist_items.id = dense.id and setlist_items.position <> dense.n;
end;

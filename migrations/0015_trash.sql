-- Trash (issue 16, SPEC §11): `DELETE /v1/scores/{id}` sets `trashed_at` instead of deleting the
-- row, so the score's parts, bookmarks, annotations, settings, favorites and setlist items stay
-- attached (hidden) and come back with it on restore, items in the positions they held. Its
-- bytes still count. A purge (now, on empty, or by the sweep after TRASH_RETENTION_DAYS) is the
-- old delete: the row goes, and with it everything above by the existing triggers and cascades.
alter table scores add column trashed_at text;

-- Dedupe (SPEC §2) considers live scores only: a trashed score's file may be uploaded again as
-- a new score, and restoring the trashed one is then refused (409).
drop index scores_user_hash;
create unique index scores_user_hash on scores (user_id, content_hash) where trashed_at is null;

-- The trash, newest first, and the sweep's purge by age.
create index scores_trash on scores (user_id, trashed_at desc, id desc) where trashed_at is not null;
create index scores_trash_age on scores (trashed_at) where trashed_at is not null;

-- Trashing or restoring a score is a change to every setlist holding it: its history records it
-- (without the title: members no longer see it) and its version moves on, so a book made before
-- is stale and a client's order naming the old version is refused.
create trigger scores_trash_setlists after update of trashed_at on scores
when (old.trashed_at is null) <> (new.trashed_at is null)
  and exists (select 1 from setlist_items where score_id = new.id)
begin
  insert into setlist_events (setlist_id, kind, detail, created_at)
    select distinct setlist_id,
           case when new.trashed_at is null then 'score_restored' else 'score_trashed' end,
           json_object('score_id', new.id),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    from setlist_items where score_id = new.id;
  update setlists set version = version + 1, write_token = null
    where id in (select setlist_id from setlist_items where score_id = new.id);
end;

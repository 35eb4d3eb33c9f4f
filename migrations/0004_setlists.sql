-- Setlists, band sharing, favorites, open history and score versions (SPEC §3, §5).

create table setlists (
  id           text primary key,
  owner_id     text not null references users (id) on delete cascade,
  name         text not null,
  description  text,
  event_date   text,
  venue        text,
  notes        text,
  -- Bumped by every change to the setlist or its items; a write naming a stale version is 409.
  version      integer not null default 1,
  -- Set by the compare-and-swap that opens a write; the rest of that write's batch only applies
  -- while it still holds, so a lost race changes nothing.
  write_token  text,
  created_at   text not null,
  updated_at   text not null
);
create index setlists_owner on setlists (owner_id, updated_at desc, id desc);

create table setlist_items (
  id          text primary key,
  setlist_id  text not null references setlists (id) on delete cascade,
  score_id    text not null references scores (id) on delete cascade,
  -- Dense, 1-based. Not unique-indexed: shifting positions would collide mid-statement.
  position    integer not null,
  notes       text,
  added_by    text not null,
  created_at  text not null,
  updated_at  text not null
);
create index setlist_items_order on setlist_items (setlist_id, position, id);
create index setlist_items_score on setlist_items (score_id);

create table setlist_members (
  setlist_id  text not null references setlists (id) on delete cascade,
  user_id     text not null references users (id) on delete cascade,
  role        text not null check (role in ('viewer', 'editor')),
  created_at  text not null,
  primary key (setlist_id, user_id)
);
create index setlist_members_user on setlist_members (user_id, setlist_id);

-- Read-only public links. The token is the id plus a MAC, so it is never stored.
create table setlist_links (
  id          text primary key,
  setlist_id  text not null references setlists (id) on delete cascade,
  expires_at  text,
  revoked_at  text,
  created_at  text not null
);
create index setlist_links_setlist on setlist_links (setlist_id, created_at);

-- What happened to a setlist that its members should be told (a score deleted by its owner).
create table setlist_events (
  seq         integer primary key,
  setlist_id  text not null references setlists (id) on delete cascade,
  kind        text not null,
  detail      text not null,
  created_at  text not null
);
create index setlist_events_setlist on setlist_events (setlist_id, seq desc);

create table item_comments (
  id          text primary key,
  setlist_id  text not null references setlists (id) on delete cascade,
  item_id     text not null references setlist_items (id) on delete cascade,
  author_id   text not null references users (id) on delete cascade,
  body        text not null,
  created_at  text not null
);
create index item_comments_item on item_comments (item_id, created_at desc, id desc);

-- Deleting a score takes it out of every setlist, records that in each setlist's history,
-- closes the gap in the positions and bumps the version (so a client's stale order is refused).
create trigger scores_leave_setlists before delete on scores
when exists (select 1 from setlist_items where score_id = old.id)
begin
  insert into setlist_events (setlist_id, kind, detail, created_at)
    select distinct setlist_id, 'score_deleted',
           json_object('score_id', old.id, 'title', old.title),
           strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    from setlist_items where score_id = old.id;
  update setlists set version = version + 1, write_token = null
    where id in (select setlist_id from setlist_items where score_id = old.id);
  delete from setlist_items where score_id = old.id;
  update setlist_items set position = dense.n
    from (select id, row_number() over (partition by setlist_id order by position, id) as n
          from setlist_items
          where setlist_id in (select setlist_id from setlist_events
                               where kind = 'score_deleted' and json_extract(detail, '$.score_id') = old.id)) as dense
    where setlist_items.id = dense.id and setlist_items.position <> dense.n;
end;

create table favorites (
  user_id     text not null references users (id) on delete cascade,
  score_id    text not null references scores (id) on delete cascade,
  created_at  text not null,
  primary key (user_id, score_id)
);
create index favorites_recent on favorites (user_id, created_at desc, score_id desc);
create index favorites_score on favorites (score_id);

create table score_opens (
  seq         integer primary key,
  user_id     text not null references users (id) on delete cascade,
  score_id    text not null references scores (id) on delete cascade,
  opened_at   text not null
);
create index score_opens_recent on score_opens (user_id, seq desc);
create index score_opens_score on score_opens (score_id, opened_at);

-- Every change to a score's metadata, written by the database itself so no path can skip it.
-- `before` and `after` hold every editable field, so any two versions can be compared.
create table score_versions (
  score_id    text not null references scores (id) on delete cascade,
  version     integer not null,
  user_id     text not null,
  before      text not null,
  after       text not null,
  created_at  text not null,
  primary key (score_id, version)
);

create trigger scores_record_version after update of
  title, composer, arranger, instrumentation, key, notes, rating, difficulty, duration, tags on scores
when old.title is not new.title or old.composer is not new.composer
  or old.arranger is not new.arranger or old.instrumentation is not new.instrumentation
  or old.key is not new.key or old.notes is not new.notes or old.rating is not new.rating
  or old.difficulty is not new.difficulty or old.duration is not new.duration
  or old.tags is not new.tags
begin
  insert into score_versions (score_id, version, user_id, before, after, created_at)
  values (
    new.id,
    coalesce((select max(version) from score_versions where score_id = new.id), 0) + 1,
    new.user_id,
    json_object('title', old.title, 'composer', old.composer, 'arranger', old.arranger,
      'instrumentation', old.instrumentation, 'key', old.key, 'notes', old.notes,
      'rating', old.rating, 'difficulty', old.difficulty, 'duration', old.duration,
      'tags', json(old.tags)),
    json_object('title', new.title, 'composer', new.composer, 'arranger', new.arranger,
      'instrumentation', new.instrumentation, 'key', new.key, 'notes', new.notes,
      'rating', new.rating, 'difficulty', new.difficulty, 'duration', new.duration,
      'tags', json(new.tags)),
    new.updated_at
  );
end;

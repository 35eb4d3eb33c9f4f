-- Annotation layers and performance settings (SPEC §10, issue 15).
--
-- A layer belongs to its author and a score; `item_id` is '' for the author's layer on their own
-- score and an item id for a member's private layer on a setlist item (a key column, so it is
-- never NULL: NULLs would not collide in the primary key). The JSON document is stored here, in
-- D1, not in R2: at ≤ 512 KiB one statement writes it with its version check and its quota
-- (docs/decisions.md).
create table annotations (
  user_id     text not null references users (id) on delete cascade,
  score_id    text not null references scores (id) on delete cascade,
  item_id     text not null default '',
  layer       text not null,
  data        text not null check (json_valid(data)),
  bytes       integer not null check (bytes >= 0),
  version     integer not null,
  shared      integer not null default 0 check (shared in (0, 1)),
  created_at  text not null,
  updated_at  text not null,
  primary key (user_id, score_id, item_id, layer)
);
-- Members read the shared layers of a score; items find their private layers.
create index annotations_score on annotations (score_id, shared);
create index annotations_item on annotations (item_id) where item_id <> '';

-- Annotation bytes count against their author's quota: every change to a layer moves
-- users.used_bytes by the difference, in the statement that makes the change (a score's deletion
-- cascades to its layers and gives their bytes back here too).
create trigger annotations_count_insert after insert on annotations begin
  update users set used_bytes = used_bytes + new.bytes where id = new.user_id;
end;
create trigger annotations_count_update after update of bytes on annotations begin
  update users set used_bytes = used_bytes + new.bytes - old.bytes where id = new.user_id;
end;
create trigger annotations_count_delete after delete on annotations begin
  update users set used_bytes = used_bytes - old.bytes where id = old.user_id;
end;

-- Per user and score (item_id ''), or per member and setlist item.
create table performance_settings (
  user_id     text not null references users (id) on delete cascade,
  score_id    text not null references scores (id) on delete cascade,
  item_id     text not null default '',
  data        text not null check (json_valid(data)),
  updated_at  text not null,
  primary key (user_id, score_id, item_id)
);
create index performance_settings_item on performance_settings (item_id) where item_id <> '';

-- An item's private layers and settings go with the item (removed from the setlist, or the
-- setlist deleted), and a member's with their membership.
create trigger setlist_items_drop_personal after delete on setlist_items begin
  delete from annotations where item_id = old.id;
  delete from performance_settings where item_id = old.id;
end;
create trigger setlist_members_drop_personal after delete on setlist_members begin
  delete from annotations where user_id = old.user_id
    and item_id in (select id from setlist_items where setlist_id = old.setlist_id);
  delete from performance_settings where user_id = old.user_id
    and item_id in (select id from setlist_items where setlist_id = old.setlist_id);
end;

-- Setlist books (issue 16, SPEC §11): the newest book requested of a setlist for each part
-- (`part_key` '' for the full scores, else the lower-cased part name a member plays), at the
-- setlist version it was made from. Made by the queue; its object replaced by the next version's
-- and deleted with the setlist (the outbox below), so a setlist keeps at most one book per part.
create table setlist_books (
  setlist_id   text not null references setlists (id) on delete cascade,
  part_key     text not null,
  version      integer not null,
  state        text not null check (state in ('pending', 'running', 'ok', 'failed')),
  object_key   text,
  pages        integer,
  size_bytes   integer,
  reason       text,
  requested_at text not null,
  updated_at   text not null,
  primary key (setlist_id, part_key)
);
create index setlist_books_pending on setlist_books (requested_at) where state in ('pending', 'running');

-- A book's object goes to the deletion outbox when its row forgets it (a newer version asked
-- for) or goes (the setlist deleted).
create trigger setlist_books_replaced after update of object_key on setlist_books
when old.object_key is not null and old.object_key is not new.object_key begin
  insert or ignore into deletions (object_key, requested_at) values (old.object_key, new.updated_at);
end;
create trigger setlist_books_gone after delete on setlist_books
when old.object_key is not null begin
  insert or ignore into deletions (object_key, requested_at)
    values (old.object_key, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
end;

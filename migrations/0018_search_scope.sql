-- Full-text search scoped to one user (issue 17, decision 110). The old indexes held every
-- user's words in one dictionary, so each search merged the entries of every library before
-- the user_id filter. Here every indexed word is glued to its owner's key ('k' and the hex of
-- the user id's last 8 characters, src/store/fts.rs), so a user's words are a range of the
-- dictionary of their own: a search reads only the searching user's entries. Prefix indexes
-- serve word prefixes of 1 to 8 characters (the key is 17) as one doclist each.
--
-- Words are cut and folded by the same tokenizer as before (unicode61, diacritics removed),
-- with combining marks kept inside words (Indic vowel signs; decomposed accents, which the
-- folding then drops) so a word the API sends as one term is one token.

-- Tokenizes one row at a time: a contentless index whose vocabulary is that row's distinct
-- words, emptied after each use (a trigger cannot call a tokenizer any other way).
create virtual table search_scratch using fts5(
  body, content = '',
  tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
);
create virtual table search_scratch_words using fts5vocab(search_scratch, 'row');
-- Only for the rebuild below: every (row, word).
create virtual table search_scratch_rows using fts5vocab(search_scratch, 'instance');

-- ---- scores ----
drop trigger scores_fts_insert;
drop trigger scores_fts_delete;
drop trigger scores_fts_update;
drop table scores_fts;
-- Contentless (the words are not the row's text) with deletes by rowid.
create virtual table scores_fts using fts5(
  words, content = '', contentless_delete = 1,
  prefix = '18 19 20 21 22 23 24 25',
  tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
);

-- Checking one row (decision 111) seeks in every segment of the index: merge them sooner than
-- the default (4 segments of a level), so there are fewer (a third of the time per row checked
-- with 300 200 scores written one by one; the writes themselves no slower measurably).
insert into scores_fts (scores_fts, rank) values ('automerge', 2);

insert into search_scratch (rowid, body)
  select seq, title || ' ' || coalesce(composer, '') || ' ' || coalesce(notes, '') from scores;
insert into scores_fts (rowid, words)
  select doc, group_concat(word, ' ') from (
    select distinct w.doc, 'k' || hex(substr(s.user_id, -8)) || w.term as word
    from search_scratch_rows w join scores s on s.seq = w.doc
  ) group by doc;
insert into search_scratch (search_scratch) values ('delete-all');

create trigger scores_fts_insert after insert on scores begin
  insert into search_scratch (rowid, body)
    values (1, new.title || ' ' || coalesce(new.composer, '') || ' ' || coalesce(new.notes, ''));
  insert into scores_fts (rowid, words)
    select new.seq, group_concat('k' || hex(substr(new.user_id, -8)) || term, ' ') from search_scratch_words;
  insert into search_scratch (search_scratch) values ('delete-all');
end;
create trigger scores_fts_delete after delete on scores begin
  delete from scores_fts where rowid = old.seq;
end;
create trigger scores_fts_update after update of title, composer, notes, user_id on scores begin
  delete from scores_fts where rowid = old.seq;
  insert into search_scratch (rowid, body)
    values (1, new.title || ' ' || coalesce(new.composer, '') || ' ' || coalesce(new.notes, ''));
  insert into scores_fts (rowid, words)
    select new.seq, group_concat('k' || hex(substr(new.user_id, -8)) || term, ' ') from search_scratch_words;
  insert into search_scratch (search_scratch) values ('delete-all');
end;

-- ---- bookmarks ----
drop trigger bookmarks_fts_insert;
drop trigger bookmarks_fts_delete;
drop trigger bookmarks_fts_update;
drop table bookmarks_fts;
create virtual table bookmarks_fts using fts5(
  words, content = '', contentless_delete = 1,
  prefix = '18 19 20 21 22 23 24 25',
  tokenize = "unicode61 remove_diacritics 2 categories 'L* N* Co M*'"
);

insert into bookmarks_fts (bookmarks_fts, rank) values ('automerge', 2);

insert into search_scratch (rowid, body)
  select seq, title || ' ' || coalesce(composer, '') from bookmarks;
insert into bookmarks_fts (rowid, words)
  select doc, group_concat(word, ' ') from (
    select distinct w.doc, 'k' || hex(substr(b.user_id, -8)) || w.term as word
    from search_scratch_rows w join bookmarks b on b.seq = w.doc
  ) group by doc;
insert into search_scratch (search_scratch) values ('delete-all');
drop table search_scratch_rows;

create trigger bookmarks_fts_insert after insert on bookmarks begin
  insert into search_scratch (rowid, body) values (1, new.title || ' ' || coalesce(new.composer, ''));
  insert into bookmarks_fts (rowid, words)
    select new.seq, group_concat('k' || hex(substr(new.user_id, -8)) || term, ' ') from search_scratch_words;
  insert into search_scratch (search_scratch) values ('delete-all');
end;
create trigger bookmarks_fts_delete after delete on bookmarks begin
  delete from bookmarks_fts where rowid = old.seq;
end;
create trigger bookmarks_fts_update after update of title, composer, user_id on bookmarks begin
  delete from bookmarks_fts where rowid = old.seq;
  insert into search_scratch (rowid, body) values (1, new.title || ' ' || coalesce(new.composer, ''));
  insert into bookmarks_fts (rowid, words)
    select new.seq, group_concat('k' || hex(substr(new.user_id, -8)) || term, ' ') from search_scratch_words;
  insert into search_scratch (search_scratch) values ('delete-all');
end;

-- ---- GET /v1/admin/tasks ----
-- Failed processing, found without reading every score and part: indexes of the failures only.
create index scores_pdf_info_failed on scores (updated_at) where pdf_info_state = 'failed';
create index scores_thumbnail_failed on scores (updated_at) where thumbnail_state = 'failed';
create index score_parts_pdf_info_failed on score_parts (updated_at) where pdf_info_state = 'failed';
create index score_parts_thumbnail_failed on score_parts (updated_at) where thumbnail_state = 'failed';

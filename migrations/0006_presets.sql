-- Presets (SPEC §6, issue 6): instrumentation presets (a name and its parts) and a genre
-- vocabulary. Built-ins have no owner and are seeded here; users add their own. Scores are
-- filtered by a preset: an instrumentation preset matches the score's `instrumentation`
-- (case-insensitive), a genre matches the tag of the same name.
create table presets (
  id         text primary key,
  user_id    text references users(id) on delete cascade,
  kind       text not null check (kind in ('instrumentation', 'genre')),
  name       text not null,
  parts      text not null default '[]' check (json_valid(parts)),
  created_at text not null
);
-- One name per kind among the built-ins and each user's own (built-ins use the '' owner slot, so
-- a user cannot shadow one either: the handler checks both).
create unique index presets_name on presets (coalesce(user_id, ''), kind, name collate nocase);
create index presets_user on presets (user_id, kind);

insert into presets (id, user_id, kind, name, parts, created_at) values
  ('pre_solo_piano', null, 'instrumentation', 'Solo piano', '["piano"]', '2026-01-01T00:00:00.000Z'),
  ('pre_voice_piano', null, 'instrumentation', 'Voice and piano', '["voice","piano"]', '2026-01-01T00:00:00.000Z'),
  ('pre_satb_choir', null, 'instrumentation', 'SATB choir', '["soprano","alto","tenor","bass"]', '2026-01-01T00:00:00.000Z'),
  ('pre_satb_choir_piano', null, 'instrumentation', 'SATB choir and piano', '["soprano","alto","tenor","bass","piano"]', '2026-01-01T00:00:00.000Z'),
  ('pre_string_quartet', null, 'instrumentation', 'String quartet', '["violin 1","violin 2","viola","cello"]', '2026-01-01T00:00:00.000Z'),
  ('pre_piano_trio', null, 'instrumentation', 'Piano trio', '["violin","cello","piano"]', '2026-01-01T00:00:00.000Z'),
  ('pre_wind_quintet', null, 'instrumentation', 'Wind quintet', '["flute","oboe","clarinet","horn","bassoon"]', '2026-01-01T00:00:00.000Z'),
  ('pre_brass_quintet', null, 'instrumentation', 'Brass quintet', '["trumpet 1","trumpet 2","horn","trombone","tuba"]', '2026-01-01T00:00:00.000Z'),
  ('pre_jazz_trio', null, 'instrumentation', 'Jazz trio', '["piano","double bass","drums"]', '2026-01-01T00:00:00.000Z'),
  ('pre_jazz_quartet', null, 'instrumentation', 'Jazz quartet', '["saxophone","piano","double bass","drums"]', '2026-01-01T00:00:00.000Z'),
  ('pre_big_band', null, 'instrumentation', 'Big band', '["alto sax 1","alto sax 2","tenor sax 1","tenor sax 2","baritone sax","trumpet 1","trumpet 2","trumpet 3","trumpet 4","trombone 1","trombone 2","trombone 3","bass trombone","piano","guitar","bass","drums"]', '2026-01-01T00:00:00.000Z'),
  ('pre_rock_band', null, 'instrumentation', 'Rock band', '["vocals","electric guitar","bass guitar","drums","keyboard"]', '2026-01-01T00:00:00.000Z'),
  ('pre_lead_sheet', null, 'instrumentation', 'Lead sheet', '["melody","chords"]', '2026-01-01T00:00:00.000Z'),
  ('pre_solo_guitar', null, 'instrumentation', 'Solo guitar', '["guitar"]', '2026-01-01T00:00:00.000Z'),
  ('pre_string_orchestra', null, 'instrumentation', 'String orchestra', '["violin 1","violin 2","viola","cello","double bass"]', '2026-01-01T00:00:00.000Z'),
  ('pre_concert_band', null, 'instrumentation', 'Concert band', '["flute","oboe","clarinet","bassoon","alto sax","tenor sax","baritone sax","trumpet","horn","trombone","euphonium","tuba","percussion"]', '2026-01-01T00:00:00.000Z'),
  ('pre_symphony_orchestra', null, 'instrumentation', 'Symphony orchestra', '["flutes","oboes","clarinets","bassoons","horns","trumpets","trombones","tuba","timpani","percussion","harp","violin 1","violin 2","viola","cello","double bass"]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_classical', null, 'genre', 'Classical', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_baroque', null, 'genre', 'Baroque', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_romantic', null, 'genre', 'Romantic', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_contemporary', null, 'genre', 'Contemporary', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_jazz', null, 'genre', 'Jazz', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_blues', null, 'genre', 'Blues', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_pop', null, 'genre', 'Pop', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_rock', null, 'genre', 'Rock', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_folk', null, 'genre', 'Folk', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_country', null, 'genre', 'Country', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_latin', null, 'genre', 'Latin', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_gospel', null, 'genre', 'Gospel', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_sacred', null, 'genre', 'Sacred', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_musical_theatre', null, 'genre', 'Musical theatre', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_film', null, 'genre', 'Film and TV', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_opera', null, 'genre', 'Opera', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_world', null, 'genre', 'World', '[]', '2026-01-01T00:00:00.000Z'),
  ('pre_genre_holiday', null, 'genre', 'Holiday', '[]', '2026-01-01T00:00:00.000Z');

-- Hardening (issue 12): page images are rendered by the queue, once per page and width, with
-- their outcome remembered; derived images are capped per score; the consumer counts attempts
-- itself.

-- One row per requested page image. `pending` while the queue renders it (the request that
-- inserted the row sent the one message), then `ok` with its size or `failed` with the reason,
-- which later requests are told without rendering again. Deleted with the score.
create table page_renders (
  score_id   text not null references scores(id) on delete cascade,
  page       integer not null check (page >= 1),
  width      integer not null check (width >= 1),
  state      text not null check (state in ('pending', 'ok', 'failed')),
  reason     text,
  bytes      integer not null default 0 check (bytes >= 0),
  created_at text not null,
  updated_at text not null,
  primary key (score_id, page, width)
) without rowid;
create index page_renders_pending on page_renders (updated_at) where state = 'pending';

-- Size of the stored thumbnail, counted with the page images against the score's budget.
alter table scores add column thumbnail_bytes integer not null default 0;

-- The consumer's own attempt accounting (the queue's delivery count also counts deferrals near
-- the CPU limit and batch-mates of a message that crashed the isolate): `started_at` is set
-- while a delivery runs the task, so a delivery that finds it set knows the last one crashed.
alter table task_runs add column failures integer not null default 0;
alter table task_runs add column crashes integer not null default 0;
alter table task_runs add column started_at text;

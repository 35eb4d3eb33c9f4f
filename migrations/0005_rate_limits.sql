-- Fixed-window rate-limit counters (SPEC §6): one row per bucket (kind, period, subject), reset
-- when a request arrives in a new window. The cron sweep deletes windows older than a day.
create table rate_windows (
  bucket       text primary key,
  window_start integer not null,
  hits         integer not null
) without rowid;
create index rate_windows_by_start on rate_windows (window_start);

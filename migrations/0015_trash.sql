alter table scores add column trashed_at text;

-- Accounts and sessions (SPEC §1).
-- Timestamps are RFC 3339 UTC text with milliseconds, so text order is time order.

create table users (
  id             text primary key,
  email          text not null unique,
  password_hash  text not null,
  display_name   text not null,
  role           text not null default 'user' check (role in ('user', 'admin')),
  preferences    text not null default '{}' check (json_valid(preferences)),
  quota_bytes    integer not null check (quota_bytes >= 0),
  used_bytes     integer not null default 0 check (used_bytes >= 0),
  reserved_bytes integer not null default 0 check (reserved_bytes >= 0),
  disabled_at    text,
  created_at     text not null,
  updated_at     text not null
);

-- A session is one refresh-token family: created at login, extended by each rotation, revoked
-- as a whole on logout, on reuse of a spent refresh token, or by password change / logout_all.
-- Access tokens name their session, so revoking it ends them at once too.
create table sessions (
  id             text primary key,
  user_id        text not null references users(id) on delete cascade,
  created_at     text not null,
  last_used_at   text not null,
  expires_at     text not null,
  revoked_at     text,
  revoked_reason text
);
create index sessions_user on sessions (user_id, revoked_at);

-- Every refresh token ever issued. `used_at` marks it spent (single use); `replaced_by` names its
-- successor so that a rotation can be made conditional on winning the race to spend it.
create table refresh_tokens (
  jti         text primary key,
  session_id  text not null references sessions(id) on delete cascade,
  user_id     text not null references users(id) on delete cascade,
  issued_at   text not null,
  expires_at  text not null,
  used_at     text,
  replaced_by text
);
create index refresh_tokens_session on refresh_tokens (session_id);
create index refresh_tokens_expiry on refresh_tokens (expires_at);

-- Outcome of every background task, keyed so that redelivery updates the same row.
create table task_runs (
  id          text primary key,
  task        text not null,
  state       text not null check (state in ('pending', 'ok', 'failed', 'dead')),
  attempts    integer not null default 0,
  detail      text,
  message_id  text,
  created_at  text not null,
  updated_at  text not null
);
create index task_runs_state on task_runs (state, updated_at);

-- Sessions name their user in a column of their own, so that reading a session reads its
-- user in the same statement (a join) rather than a second one: on every signed-in call, the
-- session and the user were two of the statements (2 of the 5 of a `sign_parts` call).
-- The table is tower-sessions-sqlx-store's, which Haul created at start until now; a database
-- that has it keeps its sessions (their user_id is filled in as each is next written, and
-- until then the user is read on its own).
create schema if not exists tower_sessions;
create table if not exists tower_sessions.session (
    id text primary key not null,
    data bytea not null,
    expiry_date timestamptz not null
);
alter table tower_sessions.session add column user_id uuid;

-- The admin dashboard: what it counts is kept where it is cheap to read at a million files,
-- and the audit log becomes append-only.

-- When the user last signed in, and was last seen (signed in or using a session; written at
-- most hourly): "active in the last 30 days" without reading sessions.
alter table app_user add column last_sign_in_at timestamptz;
alter table app_user add column last_seen_at timestamptz;
-- Complete files, kept with used_bytes by the same statements: the totals and the users page
-- read it instead of counting a million rows.
alter table app_user add column complete_files bigint not null default 0;
alter table app_user add constraint app_user_complete_files_check check (complete_files >= 0);
-- Set while an admin deletes the account: its files are removed in batches (objects first,
-- then rows), and a retry carries on from where the last one stopped.
alter table app_user add column deleting_at timestamptz;

-- When a file left `uploading` (complete, failed or aborted).
alter table file add column ended_at timestamptz;
update file set ended_at = coalesce(completed_at, created_at) where status <> 'uploading';

-- Bytes and files completed per day (UTC), whatever became of them later: the overview's chart
-- reads 30 rows instead of the files of 30 days.
create table upload_day (
    day date primary key,
    files bigint not null default 0,
    bytes bigint not null default 0
);
insert into upload_day (day, files, bytes)
select (completed_at at time zone 'utc')::date, count(*), sum(size_bytes)
from file where status = 'complete' and completed_at is not null
group by 1;
update app_user u set complete_files = c.n
from (select owner_id, count(*) as n from file where status = 'complete' group by owner_id) c
where c.owner_id = u.app_user_id;

-- Admin file listing, newest first or largest first, every owner, keyset-paged.
create index file_listing_idx on file (created_at desc, file_id desc);
create index file_size_idx on file (size_bytes desc, file_id desc);
create index file_status_listing_idx on file (status, created_at desc, file_id desc);
create index file_status_size_idx on file (status, size_bytes desc, file_id desc);
create index file_owner_size_idx on file (owner_id, size_bytes desc, file_id desc);
-- Failed and aborted uploads of the last days, for the overview.
create index file_ended_badly_idx on file (ended_at) where status in ('failed', 'aborted');
-- Name substrings: a trigram index answers `name ilike '%part%'` without reading every row
-- (a prefix index would not find "report" in "2026-report.pdf").
create extension if not exists pg_trgm;
create index file_name_trgm_idx on file using gin (name gin_trgm_ops);
create index app_user_email_trgm_idx on app_user using gin (email gin_trgm_ops);
create index app_user_listing_idx on app_user (created_at desc, app_user_id desc);
create index app_user_used_idx on app_user (used_bytes desc);

-- The audit log: who (and their email then, which outlives the account), from where, and
-- what. Rows are only ever added.
alter table audit_event add column actor_email text;
alter table audit_event add column target_email text;
alter table audit_event add column ip text;
create index audit_event_listing_idx on audit_event (audit_event_id desc);
create index audit_event_action_idx on audit_event (action, audit_event_id desc);
create index audit_event_actor_idx on audit_event (actor_id, audit_event_id desc);
create index audit_event_actor_email_idx on audit_event (lower(actor_email), audit_event_id desc);
drop index audit_event_created_at_idx;

-- Append-only: no UPDATE, DELETE or TRUNCATE. The one change allowed is the one PostgreSQL
-- itself makes when an account is deleted: its id is cleared from the rows that name it
-- (`on delete set null`); the emails kept in the row still say who it was.
create function audit_event_append_only() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE'
       and new.audit_event_id = old.audit_event_id
       and new.action = old.action
       and new.target_file_id is not distinct from old.target_file_id
       and new.detail = old.detail
       and new.created_at = old.created_at
       and new.actor_email is not distinct from old.actor_email
       and new.target_email is not distinct from old.target_email
       and new.ip is not distinct from old.ip
       and (new.actor_id is not distinct from old.actor_id or new.actor_id is null)
       and (new.target_user_id is not distinct from old.target_user_id or new.target_user_id is null)
       and not exists (select 1 from app_user where app_user_id = old.actor_id and new.actor_id is null)
       and not exists (select 1 from app_user where app_user_id = old.target_user_id and new.target_user_id is null)
    then
        return new;
    end if;
    raise exception 'audit_event is append-only (% refused)', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;
create trigger audit_event_append_only
    before update or delete on audit_event
    for each row execute function audit_event_append_only();
create function audit_event_no_truncate() returns trigger language plpgsql as $$
begin
    raise exception 'audit_event is append-only (TRUNCATE refused)'
        using errcode = 'insufficient_privilege';
end;
$$;
create trigger audit_event_no_truncate
    before truncate on audit_event
    for each statement execute function audit_event_no_truncate();

-- Accounts. Emails are stored trimmed and lower-cased by the app; the unique index on
-- lower(email) still keeps two spellings of one address apart if anything else writes here.
create table app_user (
    app_user_id uuid primary key default gen_random_uuid(),
    email text not null,
    -- argon2id PHC string; never leaves the server.
    password_hash text not null,
    role text not null default 'user',
    quota_bytes bigint not null,
    -- bytes of completed files, and bytes promised to uploads in progress (see uploads).
    used_bytes bigint not null default 0,
    reserved_bytes bigint not null default 0,
    -- set when an admin disables the account: sessions stop working at once.
    disabled_at timestamptz,
    created_at timestamptz not null default now(),
    constraint app_user_role_check check (role in ('user', 'admin')),
    constraint app_user_bytes_check check (quota_bytes >= 0 and used_bytes >= 0 and reserved_bytes >= 0)
);
create unique index app_user_email_key on app_user (lower(email));

-- Who did what to which user or file, and when: sign-ins, sign-ups, role changes, deletes.
-- Rows outlive the users they name (references are cleared, the row stays).
create table audit_event (
    audit_event_id bigint generated always as identity primary key,
    actor_id uuid references app_user (app_user_id) on delete set null,
    action text not null,
    target_user_id uuid references app_user (app_user_id) on delete set null,
    target_file_id uuid,
    detail jsonb not null default '{}'::jsonb,
    created_at timestamptz not null default now()
);
create index audit_event_created_at_idx on audit_event (created_at desc);

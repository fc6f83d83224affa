-- Upload requests: a link through which people without an account send files in to its
-- owner. Like a share link it is a capability: only a hash of its token is kept.
create table upload_request (
    request_id uuid primary key,
    owner_id uuid not null references app_user (app_user_id) on delete cascade,
    token_hash bytea not null constraint upload_request_token_hash_key unique,
    title text not null,
    -- who visitors are told asks for the files, and what for.
    owner_name text not null,
    note text not null default '',
    -- argon2id in PHC form; null: no password.
    password_hash text,
    expires_at timestamptz not null,
    -- limits; null: none. Bytes and files count what was received and what is on its way
    -- (uploading or complete), read under the request's row lock when an upload starts.
    max_bytes bigint,
    max_files integer,
    max_file_bytes bigint,
    closed_at timestamptz,
    created_at timestamptz not null default now(),
    constraint upload_request_limits_check check (
        (max_bytes is null or max_bytes > 0) and (max_files is null or max_files > 0)
        and (max_file_bytes is null or max_file_bytes > 0)
    )
);
create index upload_request_owner_idx on upload_request (owner_id, created_at desc, request_id desc);

-- A file sent through a request: which one, which visitor's browser (a random id its session
-- holds), and the name and message they left. The file is the request owner's.
alter table file add column request_id uuid references upload_request (request_id) on delete set null;
alter table file add column visitor_id uuid;
alter table file add column sender_name text;
alter table file add column sender_message text;
create index file_request_idx on file (request_id, visitor_id) where request_id is not null;

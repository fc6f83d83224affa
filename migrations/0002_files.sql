-- Files. The bytes live in S3 under object_key (made by the server: u/{owner}/{file_id});
-- this row is the record of what was promised, uploaded and verified.
create table file (
    file_id uuid primary key,
    owner_id uuid not null references app_user (app_user_id) on delete cascade,
    object_key text not null constraint file_object_key_key unique,
    name text not null,
    content_type text not null,
    -- the size declared at start; completion checks the object against it.
    size_bytes bigint not null,
    -- uploading: bytes reserved from the owner's quota; complete: bytes used;
    -- failed and aborted: nothing held (the object is gone).
    status text not null default 'uploading',
    -- the multipart upload's id; null for a file sent in one PUT.
    s3_upload_id text,
    part_size bigint not null,
    part_count integer not null,
    failure_reason text,
    created_at timestamptz not null default now(),
    completed_at timestamptz,
    constraint file_status_check check (status in ('uploading', 'complete', 'failed', 'aborted')),
    constraint file_size_check check (size_bytes >= 0 and part_size > 0 and part_count > 0)
);

-- "My files", newest first, paged by (created_at, file_id) without OFFSET.
create index file_owner_listing_idx on file (owner_id, created_at desc, file_id desc);
-- The sweeper looks for uploads left in progress.
create index file_uploading_idx on file (created_at) where status = 'uploading';

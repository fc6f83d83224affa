-- Share links: a complete file handed to anyone who has the link. The link is a capability,
-- so only a hash of its token is kept (a stolen database dump opens nothing).
create table share_link (
    share_id uuid primary key,
    -- a deleted file takes its links with it, at once.
    file_id uuid not null references file (file_id) on delete cascade,
    owner_id uuid not null references app_user (app_user_id) on delete cascade,
    -- sha-256 of the token (256 random bits: a fast hash is enough, nothing to guess).
    token_hash bytea not null constraint share_link_token_hash_key unique,
    -- argon2id in PHC form; null: no password.
    password_hash text,
    -- who the visitor is told sent the file, and the owner's note to them.
    sender_name text not null,
    note text not null default '',
    expires_at timestamptz not null,
    -- null: no limit. Downloads are counted by one conditional update, so two visitors at
    -- once can never pass the limit (the check below holds it too).
    max_downloads integer,
    downloads integer not null default 0,
    revoked_at timestamptz,
    created_at timestamptz not null default now(),
    constraint share_link_downloads_check check (
        downloads >= 0 and (max_downloads is null or (max_downloads > 0 and downloads <= max_downloads))
    )
);

-- A file's links (its share page), newest first.
create index share_link_file_idx on share_link (file_id, created_at desc);
-- Admin: every link newest first, and one owner's.
create index share_link_listing_idx on share_link (created_at desc, share_id desc);
create index share_link_owner_idx on share_link (owner_id, created_at desc, share_id desc);

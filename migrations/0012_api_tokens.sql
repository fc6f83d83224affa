-- API tokens: `Authorization: Bearer haul_…` on the same /api/ endpoints as the browser's
-- session, for scripts and the `haul` command line. Only the SHA-256 of a token is kept (a
-- token is 256 random bits: a fast hash is enough, and a lookup is one index probe); the
-- token itself is shown once, when it is made.
create table api_token (
    api_token_id uuid primary key,
    user_id uuid not null references app_user (app_user_id) on delete cascade,
    name text not null constraint api_token_name_check check (length(name) between 1 and 100),
    -- upload: start, sign, complete, abort and list own files; read: list and download;
    -- full: both, and delete and rename.
    scope text not null constraint api_token_scope_check check (scope in ('upload', 'read', 'full')),
    token_hash bytea not null,
    -- the first characters of the token, to tell tokens apart in lists.
    prefix text not null,
    created_at timestamptz not null default now(),
    -- null: never expires.
    expires_at timestamptz,
    -- written at most once a minute per token.
    last_used_at timestamptz,
    revoked_at timestamptz
);
create unique index api_token_hash_key on api_token (token_hash);
create index api_token_user_idx on api_token (user_id, created_at desc);

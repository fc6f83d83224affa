-- Notifications: what happened to a user's files that they did not do themselves (a file
-- received through a request, a share downloaded, an upload that failed), and every upload's
-- end for their webhooks. An event is written in the transaction that made it happen, so it
-- exists exactly when the change does; it is the outbox webhooks are delivered from.
create table event (
    event_id uuid primary key,
    -- whose event it is: the file's owner.
    user_id uuid not null references app_user (app_user_id) on delete cascade,
    kind text not null constraint event_kind_check check (
        kind in ('upload.completed', 'upload.failed', 'request.received', 'share.downloaded')
    ),
    -- no reference: the event outlives its file.
    file_id uuid,
    -- the webhook body's "data".
    data jsonb not null,
    created_at timestamptz not null default now(),
    -- null: unread in the app.
    read_at timestamptz,
    -- null: its deliveries are not made yet (any app server makes them, once).
    routed_at timestamptz
);
-- A user's list, newest first, and their unread count.
create index event_user_idx on event (user_id, created_at desc, event_id desc);
create index event_unread_idx on event (user_id) where read_at is null;
create index event_unrouted_idx on event (created_at) where routed_at is null;

-- A user's own webhook (the site's is HAUL_WEBHOOK_URL). The secret signs its deliveries;
-- it is needed to sign, so it is kept as it is, and shown to its owner only.
alter table app_user add column webhook_url text, add column webhook_secret text;

-- One row per event and target: the unique key makes it once per target whichever app
-- servers route the event, and a delivery is claimed (claimed_until) by one server at a time.
create table webhook_delivery (
    delivery_id uuid primary key,
    event_id uuid not null references event (event_id) on delete cascade,
    target text not null constraint webhook_delivery_target_check check (target in ('site', 'user')),
    url text not null,
    attempts integer not null default 0,
    next_at timestamptz not null default now(),
    claimed_until timestamptz,
    delivered_at timestamptz,
    -- retried with backoff until a day after the event; then it is given up.
    gave_up_at timestamptz,
    last_status integer,
    last_error text,
    created_at timestamptz not null default now(),
    constraint webhook_delivery_once unique (event_id, target)
);
create index webhook_delivery_due_idx on webhook_delivery (next_at)
    where delivered_at is null and gave_up_at is null;
create index webhook_delivery_listing_idx on webhook_delivery (created_at desc, delivery_id desc);

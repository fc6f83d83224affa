-- Sign-in and sign-up attempt counters, shared by every app server: a counter in each
-- process would let an attacker multiply the limit by the number of servers. One row per key
-- (an action and an IP, or an account) and fixed window. Unlogged: cheap to write; after a
-- database crash the counters start again at zero, which only forgives attempts.
create unlogged table rate_limit (
    key text primary key,
    window_start timestamptz not null,
    attempts integer not null
);

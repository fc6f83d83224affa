-- The daily upload rollup in 16 rows a day rather than one. Every completion adds to today's
-- row inside its transaction, so with one row a day the completions queued for its lock, each
-- until the one before it had committed (a WAL flush): one at a time, whatever the load. A
-- completion now picks its slot from its file id, so 16 can commit at once; the overview adds
-- a day's slots up.
alter table upload_day add column slot smallint not null default 0;
alter table upload_day drop constraint upload_day_pkey;
alter table upload_day add primary key (day, slot);

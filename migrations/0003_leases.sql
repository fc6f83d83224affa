-- Completing, failing, aborting, deleting and sweeping an upload each decide its fate, and
-- each talks to S3 while doing so. They first take this lease on the row, in one statement,
-- so that across requests and app servers only one of them acts on a file at a time. No
-- transaction or row lock is held while S3 works: a stalled S3 must never hold database
-- connections. A holder that dies leaves a lease that runs out by itself.
alter table file add column lease_token uuid;
alter table file add column lease_until timestamptz;

-- Background jobs that one app server at a time should run (the sweeper): the holder and
-- when its turn ends.
create table job_lease (
    name text primary key,
    holder uuid not null,
    until timestamptz not null
);

-- The sweeper matches S3's open multipart uploads with their files.
create index file_s3_upload_id_idx on file (s3_upload_id) where s3_upload_id is not null;

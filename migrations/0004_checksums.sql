-- Every part's SHA-256, sent by the browser when it asks for the part's URL and signed into
-- that URL, so that S3 refuses bytes that do not match it. The first digest given for a part
-- is the only one it ever gets: S3 then holds exactly these, and completion passes them to
-- CompleteMultipartUpload and checks S3's checksum of the object against them.
create table file_part (
    file_id uuid not null references file (file_id) on delete cascade,
    part_number integer not null,
    sha256 bytea not null,
    primary key (file_id, part_number),
    constraint file_part_check check (part_number between 1 and 10000 and length(sha256) = 32)
);

-- The verified checksum of a complete file, as S3 spells it: the base64 SHA-256 of the
-- bytes for a file sent in one part, and the composite "<base64 SHA-256 of the part
-- digests>-<parts>" for more parts. Null for files completed before checksums existed.
alter table file add column checksum_sha256 text;

-- Whether the file's multipart upload was created with SHA-256 checksums. Uploads begun
-- before this migration were not: they carry on, and complete, without them.
alter table file add column part_checksums boolean not null default false;
alter table file alter column part_checksums set default true;

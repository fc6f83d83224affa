-- What the storage checked a file's bytes against, part by part (HAUL_S3_CHECKSUM when its
-- upload began): 'sha256' (x-amz-checksum-sha256 signed into each part URL), 'md5'
-- (Content-MD5 signed instead, for stores that refuse the SHA-256 headers), or 'none' (sizes
-- only). A file keeps its mode to the end, whatever the setting becomes meanwhile.
alter table file add column integrity text not null default 'sha256'
    constraint file_integrity_check check (integrity in ('sha256', 'md5', 'none'));
-- Uploads begun before part checksums existed were checked for sizes only.
update file set integrity = 'none' where not part_checksums;

-- Each part's MD5, for 'md5' files: signed into the part's URL beside the SHA-256 the browser
-- computed, and like it never replaced. Completion checks the store's multipart ETag against
-- them where the store follows AWS's form (the MD5 of the part MD5s, then -N).
alter table file_part add column md5 bytea
    constraint file_part_md5_check check (md5 is null or length(md5) = 16);

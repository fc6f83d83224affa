-- "My files" sorted by name (A to Z and back, ignoring case) pages by (lower(name), file_id)
-- within one owner: without this index every page of an owner with 100k files would sort all
-- of them. The same expression answers "another of your files has this name" (rename) and
-- "you uploaded this file before" (find_same_file) for one owner without reading the rest.
-- Sorting by time and by size already has its index (file_owner_listing_idx,
-- file_owner_size_idx: read backwards for oldest and smallest first).
create index file_owner_name_idx on file (owner_id, lower(name), file_id);

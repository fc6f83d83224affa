-- citext gives case-insensitive unique emails without lower() in every query.
create extension if not exists citext;

ALTER TABLE auth_codes DROP COLUMN replayed_at;

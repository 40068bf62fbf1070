-- When a spent authorization code was presented again (same column in the other dialect).
-- The redeemer checks it after storing its tokens, so a replay that lands between the claim and
-- the insert still revokes what the code issued.
ALTER TABLE auth_codes ADD COLUMN replayed_at BIGINT;

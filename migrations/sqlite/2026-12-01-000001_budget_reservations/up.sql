-- Budget reservations of requests in flight, one row each (same columns in ../../postgres/).
-- A row is written in the same transaction that adds its amount to usage_months.reserved_microusd
-- and deleted in the one that settles it. A row whose lease ran out (its instance died, so nobody
-- renewed it) is deleted by the sweep, which gives its amount back: a crash cannot hold budget
-- for longer than one lease.
CREATE TABLE budget_reservations (
  id TEXT PRIMARY KEY NOT NULL,
  grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
  month TEXT NOT NULL,
  amount BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX budget_reservations_expires ON budget_reservations(expires_at);

-- Keyward's schema (PostgreSQL dialect; keep in step with ../../sqlite/).
-- Times are Unix seconds (UTC). Money is micro-USD. Secrets are stored only as hashes or JWE.

CREATE TABLE users (
  id TEXT PRIMARY KEY NOT NULL,
  webauthn_id TEXT NOT NULL UNIQUE,
  display_name TEXT NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE passkeys (
  id TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  passkey TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys(user_id);

CREATE TABLE vault_entries (
  user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key_id TEXT NOT NULL,
  jwe TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX vault_entries_key_id ON vault_entries(key_id);

CREATE TABLE clients (
  id TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  logo_url TEXT,
  redirect_uris TEXT NOT NULL,
  secret_hash TEXT,
  created_at BIGINT NOT NULL
);

CREATE TABLE grants (
  id TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
  scopes TEXT NOT NULL,
  models TEXT NOT NULL,
  budget_microusd BIGINT,
  rpm INTEGER,
  expires_at BIGINT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX grants_user ON grants(user_id);
CREATE INDEX grants_client ON grants(client_id);

CREATE TABLE tokens (
  hash TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL,
  grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
  family TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  used_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX tokens_grant ON tokens(grant_id);
CREATE INDEX tokens_family ON tokens(family);

CREATE TABLE auth_requests (
  id TEXT PRIMARY KEY NOT NULL,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  scopes TEXT NOT NULL,
  state TEXT,
  nonce TEXT,
  code_challenge TEXT NOT NULL,
  response_mode TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);

CREATE TABLE auth_codes (
  hash TEXT PRIMARY KEY NOT NULL,
  grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL,
  redirect_uri TEXT NOT NULL,
  code_challenge TEXT NOT NULL,
  scopes TEXT NOT NULL,
  nonce TEXT,
  auth_time BIGINT NOT NULL,
  family TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);

CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY NOT NULL,
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  csrf TEXT NOT NULL,
  auth_time BIGINT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE ceremonies (
  id TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL,
  user_id TEXT,
  state TEXT NOT NULL,
  payload TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);

CREATE TABLE usage_months (
  grant_id TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
  month TEXT NOT NULL,
  requests BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  cached_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  spent_microusd BIGINT NOT NULL DEFAULT 0,
  reserved_microusd BIGINT NOT NULL DEFAULT 0,
  unpriced_requests BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (grant_id, month)
);

CREATE TABLE audit_events (
  id BIGSERIAL PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  client_id TEXT,
  grant_id TEXT,
  detail TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX audit_events_user ON audit_events(user_id, created_at);

CREATE TABLE signing_keys (
  kid TEXT PRIMARY KEY NOT NULL,
  key_id TEXT NOT NULL,
  private_jwe TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  retired_at BIGINT
);

-- Pages that anyone can load write nothing (same statements in ../../postgres/).
--
-- A pending authorization request travels sealed in the pages' URLs; the store keeps only the
-- ids of the requests a person answered, until they expire, so each is answered once.
DROP TABLE auth_requests;
CREATE TABLE answered_requests (
  id TEXT PRIMARY KEY NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX answered_requests_expiry ON answered_requests(expires_at);

-- A session row exists only once a person signed in, and names the passkey that signed them in:
-- removing that passkey ends the session (the cascade). CSRF tokens are derived from the session
-- id, so no column holds them. Sessions of the old shape end; people sign in once more.
DROP TABLE sessions;
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  passkey_id TEXT NOT NULL REFERENCES passkeys(id) ON DELETE CASCADE,
  auth_time BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_passkey ON sessions(passkey_id);

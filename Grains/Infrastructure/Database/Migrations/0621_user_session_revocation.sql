-- Offboarding: disabling or removing a user (and, later, a password reset) revokes every session of theirs at once.
-- The row outlives a removed user on purpose (no foreign key): access tokens already issued to them are checked against
-- it on every request. Access tokens carry the stamp current when they were issued; a newer stamp refuses them.
CREATE TABLE user_session_revocations (
    user_id     uuid PRIMARY KEY,
    stamp       uuid NOT NULL,
    revoked_at  timestamptz NOT NULL
);

-- Revoking every refresh-token family of a user at once. (A session's absolute lifetime needs no column: a family's
-- first token, found through refresh_tokens_family_idx, marks when the session started.)
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

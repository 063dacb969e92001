-- Web API: invitations (a one-time token, stored hashed, that sets the invited user's password).
ALTER TABLE users ADD COLUMN invite_token_hash bytea;
ALTER TABLE users ADD COLUMN invite_expires_at timestamptz;
CREATE UNIQUE INDEX users_invite_token_key ON users (invite_token_hash) WHERE invite_token_hash IS NOT NULL;

-- Paging the suppression list by hash within an organization is served by its primary key; contacts of a list
-- or a segment page by contact id.
CREATE INDEX list_members_list_contact_idx ON list_members (list_id, contact_id);
CREATE INDEX email_templates_organization_id_idx ON email_templates (organization_id, id);

-- Application tables: the relational data that needs queries. Grain state (journeys, providers) lives in
-- OrleansStorage; these tables are what the API lists, filters and reports on.

CREATE TABLE organizations (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    domain          text,
    plan            text NOT NULL DEFAULT 'free',
    postal_address  text,
    settings        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email            text NOT NULL,
    password_hash    text,
    role             text NOT NULL CHECK (role IN ('owner', 'admin', 'marketer', 'viewer')),
    status           text NOT NULL DEFAULT 'active',
    settings         jsonb NOT NULL DEFAULT '{}'::jsonb,
    last_login_at    timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organization_idx ON users (organization_id);

CREATE TABLE api_keys (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             text NOT NULL,
    prefix           text NOT NULL,
    key_hash         bytea NOT NULL,
    scopes           text[] NOT NULL DEFAULT '{}',
    created_by       uuid REFERENCES users(id) ON DELETE SET NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_used_at     timestamptz,
    revoked_at       timestamptz
);
CREATE UNIQUE INDEX api_keys_hash_key ON api_keys (key_hash);
CREATE INDEX api_keys_organization_idx ON api_keys (organization_id);

CREATE TABLE refresh_tokens (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    family_id        uuid NOT NULL,
    token_hash       bytea NOT NULL,
    issued_at        timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz,
    revoked_at       timestamptz,
    replaced_by      uuid
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE contacts (
    id                uuid PRIMARY KEY,
    organization_id   uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email             text NOT NULL,
    first_name        text,
    last_name         text,
    time_zone         text,
    properties        jsonb NOT NULL DEFAULT '{}'::jsonb,
    engagement_score  integer NOT NULL DEFAULT 0,
    status            text NOT NULL DEFAULT 'active',
    unsubscribed_at   timestamptz,
    consent_source    text,
    consent_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX contacts_organization_email_key ON contacts (organization_id, lower(email));
CREATE INDEX contacts_organization_id_idx ON contacts (organization_id, id);
CREATE INDEX contacts_properties_idx ON contacts USING gin (properties jsonb_path_ops);

CREATE TABLE email_lists (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             text NOT NULL,
    description      text,
    tags             jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_lists_organization_idx ON email_lists (organization_id);

CREATE TABLE list_members (
    list_id          uuid NOT NULL REFERENCES email_lists(id) ON DELETE CASCADE,
    contact_id       uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    organization_id  uuid NOT NULL,
    joined_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (list_id, contact_id)
);
CREATE INDEX list_members_contact_idx ON list_members (contact_id);

CREATE TABLE segments (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             text NOT NULL,
    filter           jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX segments_organization_idx ON segments (organization_id);

CREATE TABLE segment_members (
    segment_id       uuid NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    contact_id       uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    organization_id  uuid NOT NULL,
    entered_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (segment_id, contact_id)
);
CREATE INDEX segment_members_contact_idx ON segment_members (contact_id);

CREATE TABLE email_templates (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             text NOT NULL,
    subject          text NOT NULL,
    html             text NOT NULL,
    text             text,
    kind             text NOT NULL DEFAULT 'marketing',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_templates_organization_idx ON email_templates (organization_id);

CREATE TABLE workflows (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    name             text NOT NULL,
    status           text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'paused', 'archived')),
    trigger_type     text NOT NULL,
    draft            jsonb NOT NULL,
    active_version   integer,
    latest_version   integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflows_organization_idx ON workflows (organization_id);

CREATE TABLE workflow_versions (
    workflow_id      uuid NOT NULL REFERENCES workflows(id) ON DELETE CASCADE,
    version          integer NOT NULL,
    organization_id  uuid NOT NULL,
    definition       jsonb NOT NULL,
    published_at     timestamptz NOT NULL DEFAULT now(),
    published_by     uuid,
    PRIMARY KEY (workflow_id, version)
);

CREATE TABLE email_campaigns (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    workflow_id      uuid REFERENCES workflows(id) ON DELETE SET NULL,
    template_id      uuid REFERENCES email_templates(id) ON DELETE SET NULL,
    name             text NOT NULL,
    subject          text NOT NULL,
    content          text NOT NULL,
    scheduled_at     timestamptz,
    sent_at          timestamptz,
    status           text NOT NULL DEFAULT 'draft',
    stats            jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- The send log. Partitioned by month on created_at; the send key is unique per partition together with the
-- partition key, so the key's own uniqueness across months is kept by send_keys below.
CREATE TABLE email_sends (
    id                   uuid NOT NULL,
    organization_id      uuid NOT NULL,
    send_key             text NOT NULL,
    contact_id           uuid,
    workflow_id          uuid,
    journey_id           text,
    step_id              text,
    variant              text,
    template_id          uuid,
    campaign_id          uuid,
    email                text NOT NULL,
    subject              text NOT NULL DEFAULT '',
    provider             text,
    provider_message_id  text,
    status               text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'bounced', 'complained', 'failed', 'suppressed', 'unknown')),
    attempts             integer NOT NULL DEFAULT 0,
    error                text,
    sent_at              timestamptz,
    delivered_at         timestamptz,
    opened_at            timestamptz,
    clicked_at           timestamptz,
    bounced_at           timestamptz,
    complained_at        timestamptz,
    unsubscribed_at      timestamptz,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at),
    UNIQUE (send_key, created_at)
) PARTITION BY RANGE (created_at);
CREATE INDEX email_sends_organization_idx ON email_sends (organization_id, created_at DESC);
CREATE INDEX email_sends_contact_idx ON email_sends (contact_id, created_at DESC);
CREATE INDEX email_sends_workflow_idx ON email_sends (workflow_id, created_at DESC);
CREATE INDEX email_sends_provider_message_idx ON email_sends (provider_message_id) WHERE provider_message_id IS NOT NULL;

-- Global uniqueness of a send key regardless of the month its row falls in.
CREATE TABLE send_keys (
    send_key         text PRIMARY KEY,
    send_id          uuid NOT NULL,
    created_at       timestamptz NOT NULL
);

CREATE TABLE email_sends_default PARTITION OF email_sends DEFAULT;

-- Creates the monthly partition that holds the given instant (idempotent).
CREATE FUNCTION ensure_email_sends_partition(at_time timestamptz) RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
    month_start timestamptz := date_trunc('month', at_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    month_end   timestamptz := month_start + interval '1 month';
    part_name   text := 'email_sends_' || to_char(month_start AT TIME ZONE 'UTC', 'YYYY_MM');
BEGIN
    IF to_regclass(part_name) IS NULL THEN
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF email_sends FOR VALUES FROM (%L) TO (%L)',
                       part_name, month_start, month_end);
    END IF;
END
$fn$;

SELECT ensure_email_sends_partition(now() + make_interval(months => m)) FROM generate_series(-1, 12) AS m;

CREATE TABLE events (
    id               uuid NOT NULL,
    organization_id  uuid NOT NULL,
    contact_id       uuid NOT NULL,
    name             text NOT NULL,
    properties       jsonb NOT NULL DEFAULT '{}'::jsonb,
    occurred_at      timestamptz NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    idempotency_key  text,
    PRIMARY KEY (id)
);
CREATE INDEX events_contact_idx ON events (contact_id, occurred_at DESC);
CREATE INDEX events_organization_name_idx ON events (organization_id, name, occurred_at DESC);

CREATE TABLE idempotency_keys (
    organization_id  uuid NOT NULL,
    scope            text NOT NULL,
    key              text NOT NULL,
    response         jsonb,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, scope, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE TABLE suppressions (
    organization_id  uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email_hash       bytea NOT NULL,
    email            text,
    reason           text NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained', 'erased', 'manual')),
    source           text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, email_hash)
);

CREATE TABLE journey_events (
    id               bigserial PRIMARY KEY,
    organization_id  uuid NOT NULL,
    workflow_id      uuid NOT NULL,
    contact_id       uuid NOT NULL,
    journey_id       text NOT NULL,
    version          integer NOT NULL,
    entry            integer NOT NULL,
    kind             text NOT NULL,
    step_id          text,
    detail           jsonb,
    occurred_at      timestamptz NOT NULL
);
CREATE INDEX journey_events_contact_idx ON journey_events (contact_id, occurred_at DESC);
CREATE INDEX journey_events_journey_idx ON journey_events (journey_id, id);

CREATE TABLE audit_log (
    id               bigserial PRIMARY KEY,
    organization_id  uuid NOT NULL,
    actor_type       text NOT NULL CHECK (actor_type IN ('user', 'api_key', 'system')),
    actor_id         uuid,
    action           text NOT NULL,
    entity_type      text NOT NULL,
    entity_ids       text[] NOT NULL DEFAULT '{}',
    detail           jsonb,
    occurred_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_organization_idx ON audit_log (organization_id, occurred_at DESC);

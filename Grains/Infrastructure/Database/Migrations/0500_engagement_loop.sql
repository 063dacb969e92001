-- Engagement loop: what recipients and providers tell us about each send after it left.

-- Per send: human opens and clicks (total), distinct URLs clicked, machine traffic apart, and the bounce's type.
ALTER TABLE email_sends
    ADD COLUMN open_count     integer NOT NULL DEFAULT 0,
    ADD COLUMN click_count    integer NOT NULL DEFAULT 0,
    ADD COLUMN unique_clicks  integer NOT NULL DEFAULT 0,
    ADD COLUMN machine_opens  integer NOT NULL DEFAULT 0,
    ADD COLUMN machine_clicks integer NOT NULL DEFAULT 0,
    ADD COLUMN bounce_type    text;

-- Every engagement as it was recorded: opens and clicks (with their URL and whether a machine made them), provider
-- events (delivered, bounced, complained, ...) and unsubscribes.
CREATE TABLE email_engagements (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL,
    send_id          uuid NOT NULL,
    contact_id       uuid,
    kind             text NOT NULL,
    source           text NOT NULL,
    url              text,
    machine          boolean NOT NULL DEFAULT false,
    bounce_type      text,
    diagnostic       text,
    user_agent       text,
    occurred_at      timestamptz NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX email_engagements_send_idx ON email_engagements (send_id, kind);
CREATE INDEX email_engagements_contact_idx ON email_engagements (contact_id, occurred_at DESC);

-- Provider event ids already recorded: a provider retries until it gets a 2xx, and each event counts once.
CREATE TABLE provider_events (
    source       text NOT NULL,
    event_id     text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, event_id)
);
CREATE INDEX provider_events_received_idx ON provider_events (received_at);

-- Engagement score: a decaying sum of weighted human engagement (see EngagementScore), and where an unsubscribe came from.
ALTER TABLE contacts
    ADD COLUMN engagement_raw     double precision NOT NULL DEFAULT 0,
    ADD COLUMN engagement_at      timestamptz,
    ADD COLUMN unsubscribe_source text;

-- The score as of now: the raw sum decays with a 30-day half-life and maps onto 0-100.
CREATE FUNCTION engagement_score(raw double precision, at timestamptz) RETURNS integer LANGUAGE sql STABLE AS $fn$
    SELECT CASE WHEN at IS NULL OR raw <= 0 THEN 0
                ELSE round(100 * (1 - exp(-(raw * power(0.5, greatest(extract(epoch FROM now() - at), 0) / 2592000.0)) / 10)))::integer
           END
$fn$;

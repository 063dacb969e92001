-- Analytics: hourly figures per organization, workflow, version, step, variant and provider, kept apart from the send
-- log so that reports read a few hundred rows instead of scanning millions of sends.

-- Empty text and the nil uuid stand for "none" so that every dimension can be part of the key.
CREATE TABLE analytics_hourly (
    organization_id  uuid NOT NULL,
    hour             timestamptz NOT NULL,
    workflow_id      uuid NOT NULL,
    version          integer NOT NULL,
    step_id          text NOT NULL,
    variant          text NOT NULL,
    provider         text NOT NULL,
    sent             bigint NOT NULL DEFAULT 0,
    delivered        bigint NOT NULL DEFAULT 0,
    opened           bigint NOT NULL DEFAULT 0,
    clicked          bigint NOT NULL DEFAULT 0,
    bounced          bigint NOT NULL DEFAULT 0,
    complained       bigint NOT NULL DEFAULT 0,
    unsubscribed     bigint NOT NULL DEFAULT 0,
    goals            bigint NOT NULL DEFAULT 0,
    -- Goals of journeys that were sent this variant: the A/B comparison. Apart from goals, which count each
    -- conversion once at the step the journey was at; a journey sent two variants credits both here.
    variant_goals    bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (organization_id, hour, workflow_id, version, step_id, variant, provider)
);
CREATE INDEX analytics_hourly_workflow_idx ON analytics_hourly (organization_id, workflow_id, hour);
CREATE INDEX analytics_hourly_hour_idx ON analytics_hourly (hour);

-- What happened and is not rolled up yet. Written in the same transaction as the change it describes (by the triggers
-- below), and deleted in the same transaction as the rollup that counts it: each fact is counted exactly once, however
-- late it commits and however many silos roll up.
CREATE TABLE analytics_pending (
    id               bigserial PRIMARY KEY,
    organization_id  uuid NOT NULL,
    kind             text NOT NULL,
    at               timestamptz NOT NULL,
    workflow_id      uuid,
    version          integer,
    journey_id       text,
    send_key         text,
    step_id          text,
    variant          text,
    provider         text,
    enqueued_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- A send counts once per kind: when its time column first gets a value. The engagement recorder sets opened_at and
-- clicked_at on the first human open or click only (machine traffic is counted apart on the send), so these are unique.
-- Statement-level with transition tables: one INSERT ... SELECT per statement, which matters because the send log is
-- written in batches of hundreds of rows.
CREATE FUNCTION analytics_sends_inserted() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO analytics_pending (organization_id, kind, at, workflow_id, journey_id, send_key, step_id, variant, provider)
    SELECT n.organization_id, f.kind, f.at, n.workflow_id, n.journey_id, n.send_key, n.step_id, n.variant, n.provider
    FROM new_rows n
    CROSS JOIN LATERAL (VALUES ('sent', n.sent_at), ('delivered', n.delivered_at), ('opened', n.opened_at), ('clicked', n.clicked_at),
                               ('bounced', n.bounced_at), ('complained', n.complained_at), ('unsubscribed', n.unsubscribed_at)) AS f(kind, at)
    WHERE f.at IS NOT NULL;
    RETURN NULL;
END
$fn$;

CREATE FUNCTION analytics_sends_updated() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO analytics_pending (organization_id, kind, at, workflow_id, journey_id, send_key, step_id, variant, provider)
    SELECT n.organization_id, f.kind, f.at, n.workflow_id, n.journey_id, n.send_key, n.step_id, n.variant, n.provider
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id AND o.created_at = n.created_at
    CROSS JOIN LATERAL (VALUES ('sent', n.sent_at, o.sent_at), ('delivered', n.delivered_at, o.delivered_at),
                               ('opened', n.opened_at, o.opened_at), ('clicked', n.clicked_at, o.clicked_at),
                               ('bounced', n.bounced_at, o.bounced_at), ('complained', n.complained_at, o.complained_at),
                               ('unsubscribed', n.unsubscribed_at, o.unsubscribed_at)) AS f(kind, at, was)
    WHERE f.at IS NOT NULL AND f.was IS NULL;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER analytics_send_inserted AFTER INSERT ON email_sends REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_sends_inserted();

CREATE TRIGGER analytics_send_updated AFTER UPDATE ON email_sends REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_sends_updated();

-- A goal conversion counts at the step the journey was at, in the workflow version it was running; and it is credited
-- to every variant this entry of the journey was sent (its sends are in its history, their variants in the send log).
CREATE FUNCTION analytics_goal_reached() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO analytics_pending (organization_id, kind, at, workflow_id, version, journey_id, step_id)
    VALUES (NEW.organization_id, 'goal', NEW.occurred_at, NEW.workflow_id, NEW.version, NEW.journey_id, NEW.step_id);
    INSERT INTO analytics_pending (organization_id, kind, at, workflow_id, version, journey_id, step_id, variant)
    SELECT NEW.organization_id, 'variant_goal', NEW.occurred_at, NEW.workflow_id, NEW.version, NEW.journey_id, s.step_id, s.variant
    FROM journey_events j
    JOIN send_keys k ON k.send_key = j.detail #>> '{}'
    JOIN email_sends s ON s.id = k.send_id AND s.created_at = k.created_at
    WHERE j.journey_id = NEW.journey_id AND j.entry = NEW.entry AND j.kind = 'send' AND j.organization_id = NEW.organization_id
      AND s.organization_id = NEW.organization_id AND s.variant IS NOT NULL;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER analytics_goal_recorded AFTER INSERT ON journey_events FOR EACH ROW
    WHEN (NEW.kind = 'goal')
    EXECUTE FUNCTION analytics_goal_reached();

-- What happened before this migration is rolled up like anything new.
INSERT INTO analytics_pending (organization_id, kind, at, workflow_id, journey_id, send_key, step_id, variant, provider)
SELECT s.organization_id, f.kind, f.at, s.workflow_id, s.journey_id, s.send_key, s.step_id, s.variant, s.provider
FROM email_sends s
CROSS JOIN LATERAL (VALUES ('sent', s.sent_at), ('delivered', s.delivered_at), ('opened', s.opened_at), ('clicked', s.clicked_at),
                           ('bounced', s.bounced_at), ('complained', s.complained_at), ('unsubscribed', s.unsubscribed_at)) AS f(kind, at)
WHERE f.at IS NOT NULL;

INSERT INTO analytics_pending (organization_id, kind, at, workflow_id, version, journey_id, step_id)
SELECT organization_id, 'goal', occurred_at, workflow_id, version, journey_id, step_id FROM journey_events WHERE kind = 'goal';

INSERT INTO analytics_pending (organization_id, kind, at, workflow_id, version, journey_id, step_id, variant)
SELECT g.organization_id, 'variant_goal', g.occurred_at, g.workflow_id, g.version, g.journey_id, s.step_id, s.variant
FROM journey_events g
JOIN journey_events j ON j.journey_id = g.journey_id AND j.entry = g.entry AND j.kind = 'send' AND j.organization_id = g.organization_id
JOIN send_keys k ON k.send_key = j.detail #>> '{}'
JOIN email_sends s ON s.id = k.send_id AND s.created_at = k.created_at
WHERE g.kind = 'goal' AND s.organization_id = g.organization_id AND s.variant IS NOT NULL;

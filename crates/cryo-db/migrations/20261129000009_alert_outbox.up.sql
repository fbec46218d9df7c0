-- Direct notifications for installs without Prometheus: alerts raised by the application (failed
-- backups, failed training, degraded health), a persistent outbox of deliveries retried with
-- back-off, and time-bounded silences. Administrative data: service_role only (no user policy).

SET LOCAL lock_timeout = '5s';
SET LOCAL statement_timeout = '60s';

-- One row per alert fingerprint: raising it again while it fires is de-duplicated, and a
-- reminder is sent only after the repeat interval.
CREATE TABLE alerts (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    fingerprint      text NOT NULL UNIQUE CHECK (length(fingerprint) BETWEEN 1 AND 200),
    severity         text NOT NULL CHECK (severity IN ('warning', 'critical')),
    summary          text NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details) = 'object'),
    firing           boolean NOT NULL DEFAULT true,
    since            timestamptz NOT NULL DEFAULT now(),
    last_notified_at timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alert_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    alert_id        uuid NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    status          text NOT NULL CHECK (status IN ('firing', 'resolved')),
    payload         jsonb NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead', 'silenced')),
    attempts        bigint NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_deliveries_due_idx ON alert_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX alert_deliveries_alert_idx ON alert_deliveries (alert_id);

-- A silence suppresses notifications of alerts whose fingerprint starts with `matcher` until it
-- ends; it is never deleted, only expired, so the record of who silenced what remains.
CREATE TABLE alert_silences (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    matcher    text NOT NULL CHECK (length(matcher) BETWEEN 1 AND 200),
    comment    text NOT NULL CHECK (length(btrim(comment)) BETWEEN 1 AND 1000),
    starts_at  timestamptz NOT NULL DEFAULT now(),
    ends_at    timestamptz NOT NULL,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_silences_window CHECK (ends_at > starts_at)
);
CREATE INDEX alert_silences_created_by_idx ON alert_silences (created_by);

CREATE TRIGGER set_updated_at BEFORE UPDATE ON alerts FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON alert_deliveries FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER set_updated_at BEFORE UPDATE ON alert_silences FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Only the service acts on these (the main policy set re-creates exactly this on `rls apply`).
REVOKE ALL ON alerts, alert_deliveries, alert_silences FROM anon, authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON alerts, alert_deliveries, alert_silences TO service_role;
GRANT SELECT ON alerts, alert_deliveries, alert_silences TO cryoprotect_rls_definer;
ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE alerts FORCE ROW LEVEL SECURITY;
ALTER TABLE alert_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_deliveries FORCE ROW LEVEL SECURITY;
ALTER TABLE alert_silences ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_silences FORCE ROW LEVEL SECURITY;
CREATE POLICY alerts_service_role ON alerts FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY alert_deliveries_service_role ON alert_deliveries FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');
CREATE POLICY alert_silences_service_role ON alert_silences FOR ALL TO service_role
    USING (auth.role() = 'service_role') WITH CHECK (auth.role() = 'service_role');

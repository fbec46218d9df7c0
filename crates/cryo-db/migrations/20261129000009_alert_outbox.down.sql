-- cryoprotect: data-loss
-- Drops the alert outbox: alert history, pending deliveries and silences are lost.
DROP TABLE IF EXISTS alert_silences;
DROP TABLE IF EXISTS alert_deliveries;
DROP TABLE IF EXISTS alerts;

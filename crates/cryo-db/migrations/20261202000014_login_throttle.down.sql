-- Throttle counters are transient; dropping them only forgets recent failures.
DROP TABLE IF EXISTS login_throttle;
COMMENT ON COLUMN users.failed_logins IS NULL;
COMMENT ON COLUMN users.locked_until IS NULL;

-- Who may sign in, integrators' keys and the audit trail (docs/access.md). Users live in SQL, not grain state, so the
-- first administrator can be created by a command with no cluster running. Secrets are never stored: a user's
-- password as ASP.NET Core Identity's PBKDF2 hash, a key's secret as its SHA-256.
CREATE TABLE IF NOT EXISTS crm_users
(
    service_id    TEXT    NOT NULL,
    login         TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    roles         TEXT    NOT NULL, -- comma-separated
    org_unit      TEXT    NOT NULL, -- '' is the whole organisation
    enabled       INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    changed_at    TEXT    NOT NULL,
    PRIMARY KEY (service_id, login)
);

CREATE TABLE IF NOT EXISTS crm_api_keys
(
    service_id  TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    roles       TEXT NOT NULL,
    org_unit    TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT NULL,
    PRIMARY KEY (service_id, key_id)
);

-- Append-only: rows are inserted, never updated (an erased customer's rows keep only its id, which is not personal data).
CREATE TABLE IF NOT EXISTS crm_audit
(
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    service_id  TEXT    NOT NULL,
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    resource    TEXT    NOT NULL,
    customer_id TEXT    NULL,
    status      INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,
    request_id  TEXT    NULL
);

CREATE INDEX IF NOT EXISTS crm_audit_by_actor ON crm_audit (service_id, actor, seq);
CREATE INDEX IF NOT EXISTS crm_audit_by_customer ON crm_audit (service_id, customer_id, seq);

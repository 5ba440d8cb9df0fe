-- Who may sign in, integrators' keys and the audit trail (docs/access.md). Users live in SQL, not grain state, so the
-- first administrator can be created by a command with no cluster running. Secrets are never stored: a user's
-- password as ASP.NET Core Identity's PBKDF2 hash, a key's secret as its SHA-256.
CREATE TABLE IF NOT EXISTS crm_users
(
    service_id    text    NOT NULL,
    login         text    NOT NULL,
    password_hash text    NOT NULL,
    roles         text    NOT NULL, -- comma-separated
    org_unit      text    NOT NULL, -- '' is the whole organisation
    enabled       boolean NOT NULL,
    created_at    timestamptz NOT NULL,
    changed_at    timestamptz NOT NULL,
    PRIMARY KEY (service_id, login)
);

CREATE TABLE IF NOT EXISTS crm_api_keys
(
    service_id  text NOT NULL,
    key_id      text NOT NULL,
    name        text NOT NULL,
    secret_hash text NOT NULL,
    roles       text NOT NULL,
    org_unit    text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL,
    revoked_at  timestamptz NULL,
    PRIMARY KEY (service_id, key_id)
);

-- Append-only: rows are inserted, never updated (an erased customer's rows keep only its id, which is not personal data).
CREATE TABLE IF NOT EXISTS crm_audit
(
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    service_id  text    NOT NULL,
    at          timestamptz NOT NULL,
    actor       text    NOT NULL,
    action      text    NOT NULL,
    resource    text    NOT NULL,
    customer_id text    NULL,
    status      integer NOT NULL,
    outcome     text    NOT NULL,
    request_id  text    NULL
);

CREATE INDEX IF NOT EXISTS crm_audit_by_actor ON crm_audit (service_id, actor, seq);
CREATE INDEX IF NOT EXISTS crm_audit_by_customer ON crm_audit (service_id, customer_id, seq);

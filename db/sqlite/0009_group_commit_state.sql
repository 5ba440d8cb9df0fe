-- The customer grain's snapshot: a cache of its state folded from the log up to applied_seq. Written in batches by
-- each silo's group-commit writer, together with the log rows and campaign actions of the same transaction; the log
-- stays the truth, and an activation reads this row and replays the log rows above applied_seq. version is the
-- optimistic-concurrency tag: a write succeeds only over the version its writer read.
CREATE TABLE IF NOT EXISTS crm_customer_state
(
    service_id  TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    applied_seq INTEGER NOT NULL,
    payload     BLOB    NOT NULL, -- the grain's CustomerState in Orleans' binary, version-tolerant format
    updated_at  TEXT    NOT NULL,
    PRIMARY KEY (service_id, customer_id)
);

-- Every other grain's state (contact index entries, idempotency records, campaigns, the catalog, backfills, offer
-- learning), written through the same group-commit writer as the customers' rows. Keyed by the state name and the
-- grain id as Orleans prints it ("type/key"), so no key text needs hashing or escaping.
CREATE TABLE IF NOT EXISTS crm_grain_state
(
    service_id TEXT    NOT NULL,
    state_name TEXT    NOT NULL,
    grain_id   TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    payload    BLOB    NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (service_id, state_name, grain_id)
);

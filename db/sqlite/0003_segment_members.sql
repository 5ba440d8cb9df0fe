-- Segment membership, written by segment shard grains as customers report joins and leaves. One row per
-- (service, segment, customer); seq is the customer's own sequence for its segment messages, and a write only applies
-- when it is newer than the row's, so a redelivered or late message never double-counts or undoes a newer one.
CREATE TABLE IF NOT EXISTS crm_segment_members
(
    service_id  TEXT    NOT NULL,
    segment_id  TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    shard       INTEGER NOT NULL,
    member      INTEGER NOT NULL, -- 1 member, 0 left
    seq         INTEGER NOT NULL,
    changed_at  TEXT    NOT NULL,
    PRIMARY KEY (service_id, segment_id, customer_id)
);

CREATE INDEX IF NOT EXISTS crm_segment_members_by_shard ON crm_segment_members (service_id, segment_id, shard, member);

-- Each segment shard's member count as it stood at the end of each day (the last change that day), written in the
-- same transaction as the membership change. A segment's size on a day is the sum over its shards of each shard's
-- latest row on or before that day.
CREATE TABLE IF NOT EXISTS crm_segment_sizes
(
    service_id  TEXT    NOT NULL,
    segment_id  TEXT    NOT NULL,
    shard       INTEGER NOT NULL,
    day         TEXT    NOT NULL, -- yyyy-MM-dd (UTC)
    members     INTEGER NOT NULL,
    PRIMARY KEY (service_id, segment_id, shard, day)
);

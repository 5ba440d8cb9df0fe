-- OrleansCrm: Orleans ADO.NET schema and named queries for PostgreSQL 15 (Npgsql, Orleans
-- invariant "Npgsql"). Written for Orleans 10.4.x.
--
-- Executed by the migration runner as ONE command text inside ONE transaction.
-- Idempotent: every object is created with IF NOT EXISTS and every query row is upserted.
-- No BEGIN/COMMIT here on purpose.
--
-- Design notes (see db/README.md):
--  * Identifiers are unquoted, i.e. lower case. Orleans reads result columns by name through
--    case-insensitive GetOrdinal, so lower-case column names are fine.
--  * Every named query that changes data is a single SQL statement (data-modifying CTEs where two
--    tables are involved), so it is atomic even though Orleans runs it in autocommit mode.
--  * Timestamps are timestamptz: Npgsql sends the UTC DateTime values Orleans uses as timestamptz.

-- ---------------------------------------------------------------------------------------------
-- Query catalogue read by every Orleans ADO.NET provider at start-up.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS orleansquery
(
    querykey  text NOT NULL,
    querytext text NOT NULL,
    CONSTRAINT pk_orleansquery PRIMARY KEY (querykey)
);

-- ---------------------------------------------------------------------------------------------
-- Clustering (membership)
-- ---------------------------------------------------------------------------------------------
-- One row per cluster (Orleans passes ClusterId as @DeploymentId). version is the table ETag.
CREATE TABLE IF NOT EXISTS orleansmembershipversiontable
(
    deploymentid text        NOT NULL,
    version      integer     NOT NULL DEFAULT 0,
    modifiedon   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_orleansmembershipversiontable PRIMARY KEY (deploymentid)
);

-- One row per silo incarnation (address, port, generation) of a cluster.
CREATE TABLE IF NOT EXISTS orleansmembershiptable
(
    deploymentid text        NOT NULL,
    address      text        NOT NULL,
    port         integer     NOT NULL,
    generation   integer     NOT NULL,
    siloname     text        NOT NULL,
    hostname     text        NOT NULL,
    status       integer     NOT NULL,
    proxyport    integer     NULL,
    suspecttimes text        NULL,
    starttime    timestamptz NOT NULL,
    iamalivetime timestamptz NOT NULL,
    CONSTRAINT pk_orleansmembershiptable PRIMARY KEY (deploymentid, address, port, generation),
    CONSTRAINT fk_orleansmembershiptable_version FOREIGN KEY (deploymentid)
        REFERENCES orleansmembershipversiontable (deploymentid)
);

-- ---------------------------------------------------------------------------------------------
-- Grain state storage
-- ---------------------------------------------------------------------------------------------
-- grainidextensionstring is stored as '' when Orleans passes NULL (no key extension), so that the
-- unique index below treats "no extension" as one value (NULLs would never collide).
CREATE TABLE IF NOT EXISTS orleansstorage
(
    grainidhash            integer     NOT NULL,
    grainidn0              bigint      NOT NULL,
    grainidn1              bigint      NOT NULL,
    graintypehash          integer     NOT NULL,
    graintypestring        text        NOT NULL,
    grainidextensionstring text        NOT NULL DEFAULT '',
    serviceid              text        NOT NULL,
    payloadbinary          bytea       NULL,
    modifiedon             timestamptz NOT NULL,
    version                integer     NOT NULL
);

-- At most one state row per grain: concurrent first writes cannot create duplicates.
CREATE UNIQUE INDEX IF NOT EXISTS ux_orleansstorage_grain
    ON orleansstorage (grainidhash, graintypehash, serviceid, grainidn0, grainidn1, graintypestring, grainidextensionstring);

-- ---------------------------------------------------------------------------------------------
-- Reminders
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS orleansreminderstable
(
    serviceid    text        NOT NULL,
    grainid      text        NOT NULL,
    remindername text        NOT NULL,
    starttime    timestamptz NOT NULL,
    period       bigint      NOT NULL,
    grainhash    integer     NOT NULL,
    version      integer     NOT NULL,
    CONSTRAINT pk_orleansreminderstable PRIMARY KEY (serviceid, grainid, remindername)
);

CREATE INDEX IF NOT EXISTS ix_orleansreminderstable_serviceid_grainhash
    ON orleansreminderstable (serviceid, grainhash);

-- ---------------------------------------------------------------------------------------------
-- Named queries: clustering
-- ---------------------------------------------------------------------------------------------
-- Insert/Update membership: the conditional version bump (version = @Version) takes the row lock
-- on the cluster's version row; a concurrent writer holding the same ETag waits, re-checks the
-- version after the winner commits, finds it changed and changes nothing (returns 0).
INSERT INTO orleansquery (querykey, querytext) VALUES
('InsertMembershipVersionKey', '
WITH inserted AS (
    INSERT INTO orleansmembershipversiontable (deploymentid, version)
    VALUES (@DeploymentId, 0)
    ON CONFLICT (deploymentid) DO NOTHING
    RETURNING 1
)
SELECT count(*)::integer AS inserted FROM inserted;
'),
('MembershipReadRowKey', '
SELECT v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status,
       m.proxyport, m.suspecttimes, m.starttime, m.iamalivetime, v.version
FROM orleansmembershipversiontable AS v
LEFT JOIN orleansmembershiptable AS m
       ON m.deploymentid = v.deploymentid
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
WHERE v.deploymentid = @DeploymentId;
'),
('MembershipReadAllKey', '
SELECT v.deploymentid, m.address, m.port, m.generation, m.siloname, m.hostname, m.status,
       m.proxyport, m.suspecttimes, m.starttime, m.iamalivetime, v.version
FROM orleansmembershipversiontable AS v
LEFT JOIN orleansmembershiptable AS m ON m.deploymentid = v.deploymentid
WHERE v.deploymentid = @DeploymentId;
'),
('InsertMembershipKey', '
WITH bumped AS (
    UPDATE orleansmembershipversiontable AS v
    SET version = v.version + 1, modifiedon = now()
    WHERE v.deploymentid = @DeploymentId
      AND v.version = @Version
      AND NOT EXISTS (SELECT 1 FROM orleansmembershiptable AS m
                      WHERE m.deploymentid = @DeploymentId
                        AND m.address = @Address AND m.port = @Port AND m.generation = @Generation)
    RETURNING v.deploymentid
), inserted AS (
    INSERT INTO orleansmembershiptable
        (deploymentid, address, port, generation, siloname, hostname, status, proxyport, suspecttimes, starttime, iamalivetime)
    SELECT b.deploymentid, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, NULL, @StartTime, @IAmAliveTime
    FROM bumped AS b
    ON CONFLICT (deploymentid, address, port, generation) DO NOTHING
    RETURNING 1
)
SELECT count(*)::integer AS inserted FROM inserted;
'),
('UpdateMembershipKey', '
WITH bumped AS (
    UPDATE orleansmembershipversiontable AS v
    SET version = v.version + 1, modifiedon = now()
    WHERE v.deploymentid = @DeploymentId
      AND v.version = @Version
      AND EXISTS (SELECT 1 FROM orleansmembershiptable AS m
                  WHERE m.deploymentid = @DeploymentId
                    AND m.address = @Address AND m.port = @Port AND m.generation = @Generation)
    RETURNING v.deploymentid
), updated AS (
    UPDATE orleansmembershiptable AS m
    SET status = @Status,
        suspecttimes = @SuspectTimes,
        iamalivetime = GREATEST(m.iamalivetime, @IAmAliveTime)
    FROM bumped AS b
    WHERE m.deploymentid = b.deploymentid
      AND m.address = @Address AND m.port = @Port AND m.generation = @Generation
    RETURNING 1
)
SELECT count(*)::integer AS updated FROM updated;
'),
('UpdateIAmAlivetimeKey', '
UPDATE orleansmembershiptable
SET iamalivetime = GREATEST(iamalivetime, @IAmAliveTime)
WHERE deploymentid = @DeploymentId
  AND address = @Address AND port = @Port AND generation = @Generation;
'),
('GatewaysQueryKey', '
SELECT address, proxyport, generation
FROM orleansmembershiptable
WHERE deploymentid = @DeploymentId AND status = @Status AND proxyport > 0;
'),
('DeleteMembershipTableEntriesKey', '
WITH members AS (
    DELETE FROM orleansmembershiptable WHERE deploymentid = @DeploymentId
)
DELETE FROM orleansmembershipversiontable WHERE deploymentid = @DeploymentId;
'),
('CleanupDefunctSiloEntriesKey', '
DELETE FROM orleansmembershiptable
WHERE deploymentid = @DeploymentId
  AND status = 6
  AND iamalivetime < @IAmAliveTime
  AND starttime < @IAmAliveTime
  AND COALESCE(suspecttimes, '''') = '''';
'),
('CleanupDefunctSiloEntryKey', '
DELETE FROM orleansmembershiptable
WHERE deploymentid = @DeploymentId
  AND address = @Address AND port = @Port AND generation = @Generation
  AND status = 6
  AND starttime = @StartTime
  AND iamalivetime = @IAmAliveTime
  AND COALESCE(suspecttimes, '''') = COALESCE(@SuspectTimes, '''');
')
ON CONFLICT (querykey) DO UPDATE SET querytext = EXCLUDED.querytext;

-- ---------------------------------------------------------------------------------------------
-- Named queries: grain storage
-- ---------------------------------------------------------------------------------------------
-- Write: exactly one branch can apply (decided by @GrainStateVersion). A row with
-- newgrainstateversion is returned only on success; no row means "version conflict", which
-- Orleans turns into InconsistentStateException (also when a concurrent first write won: the
-- loser's INSERT waits for the winner and then hits ON CONFLICT DO NOTHING).
INSERT INTO orleansquery (querykey, querytext) VALUES
('ReadFromStorageKey', '
SELECT payloadbinary, version
FROM orleansstorage
WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
  AND serviceid = @ServiceId
  AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
  AND graintypestring = @GrainTypeString
  AND grainidextensionstring = COALESCE(@GrainIdExtensionString, '''');
'),
('WriteToStorageKey', '
WITH updated AS (
    UPDATE orleansstorage
    SET payloadbinary = @PayloadBinary, modifiedon = now(), version = version + 1
    WHERE @GrainStateVersion IS NOT NULL
      AND grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
      AND serviceid = @ServiceId
      AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
      AND graintypestring = @GrainTypeString
      AND grainidextensionstring = COALESCE(@GrainIdExtensionString, '''')
      AND version = @GrainStateVersion
    RETURNING version
), inserted AS (
    INSERT INTO orleansstorage
        (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring,
         serviceid, payloadbinary, modifiedon, version)
    SELECT @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString, COALESCE(@GrainIdExtensionString, ''''),
           @ServiceId, @PayloadBinary, now(), 1
    WHERE @GrainStateVersion IS NULL
    ON CONFLICT (grainidhash, graintypehash, serviceid, grainidn0, grainidn1, graintypestring, grainidextensionstring) DO NOTHING
    RETURNING version
)
SELECT version AS newgrainstateversion FROM updated
UNION ALL
SELECT version AS newgrainstateversion FROM inserted;
'),
('ClearStorageKey', '
UPDATE orleansstorage
SET payloadbinary = NULL, modifiedon = now(), version = version + 1
WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
  AND serviceid = @ServiceId
  AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
  AND graintypestring = @GrainTypeString
  AND grainidextensionstring = COALESCE(@GrainIdExtensionString, '''')
  AND version = @GrainStateVersion
RETURNING version AS newgrainstateversion;
'),
('DeleteStorageKey', '
DELETE FROM orleansstorage
WHERE grainidhash = @GrainIdHash AND graintypehash = @GrainTypeHash
  AND serviceid = @ServiceId
  AND grainidn0 = @GrainIdN0 AND grainidn1 = @GrainIdN1
  AND graintypestring = @GrainTypeString
  AND grainidextensionstring = COALESCE(@GrainIdExtensionString, '''')
  AND version = @GrainStateVersion
RETURNING version + 1 AS newgrainstateversion;
')
ON CONFLICT (querykey) DO UPDATE SET querytext = EXCLUDED.querytext;

-- ---------------------------------------------------------------------------------------------
-- Named queries: reminders
-- ---------------------------------------------------------------------------------------------
INSERT INTO orleansquery (querykey, querytext) VALUES
('UpsertReminderRowKey', '
INSERT INTO orleansreminderstable (serviceid, grainid, remindername, starttime, period, grainhash, version)
VALUES (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
ON CONFLICT (serviceid, grainid, remindername) DO UPDATE
SET starttime = EXCLUDED.starttime,
    period = EXCLUDED.period,
    grainhash = EXCLUDED.grainhash,
    version = orleansreminderstable.version + 1
RETURNING version;
'),
('ReadReminderRowsKey', '
SELECT grainid, remindername, starttime, period, version
FROM orleansreminderstable
WHERE serviceid = @ServiceId AND grainid = @GrainId;
'),
('ReadReminderRowKey', '
SELECT grainid, remindername, starttime, period, version
FROM orleansreminderstable
WHERE serviceid = @ServiceId AND grainid = @GrainId AND remindername = @ReminderName;
'),
('ReadRangeRows1Key', '
SELECT grainid, remindername, starttime, period, version
FROM orleansreminderstable
WHERE serviceid = @ServiceId
  AND grainhash > @BeginHash AND grainhash <= @EndHash;
'),
('ReadRangeRows2Key', '
SELECT grainid, remindername, starttime, period, version
FROM orleansreminderstable
WHERE serviceid = @ServiceId
  AND (grainhash > @BeginHash OR grainhash <= @EndHash);
'),
('DeleteReminderRowKey', '
WITH deleted AS (
    DELETE FROM orleansreminderstable
    WHERE serviceid = @ServiceId AND grainid = @GrainId AND remindername = @ReminderName
      AND version = @Version
    RETURNING 1
)
SELECT count(*)::integer AS deleted FROM deleted;
'),
('DeleteReminderRowsKey', '
DELETE FROM orleansreminderstable WHERE serviceid = @ServiceId;
')
ON CONFLICT (querykey) DO UPDATE SET querytext = EXCLUDED.querytext;

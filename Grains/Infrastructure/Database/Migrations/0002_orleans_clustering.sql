-- =============================================================================
-- 0002 - Orleans ADO.NET clustering (membership table)
-- Target: Microsoft.Orleans.Clustering.AdoNet 10.4.2, PostgreSQL.
--
-- Contract with the provider (all bound as Npgsql parameters):
--   @DeploymentId   text     the Orleans ClusterId
--   @Address        text     silo IP address as a string
--   @Port           int4
--   @Generation     int4
--   @SiloName, @HostName text
--   @Status         int4     Orleans SiloStatus (3 = Active, 6 = Dead)
--   @ProxyPort      int4     gateway port, 0 when the silo is not a gateway
--   @SuspectTimes   text     "silo,date|silo,date|..." or NULL
--   @StartTime, @IAmAliveTime  timestamp (UTC DateTime)
--   @Version        int4     the table version (etag) the caller last read
--
-- Optimistic concurrency: OrleansMembershipVersionTable holds one row per
-- cluster whose Version is the etag of the whole membership table. Every
-- insert/update of a membership row must bump that version in the same
-- transaction, and must fail (return 0) if the caller's @Version is stale.
--
-- Query keys required by 10.4.2:
--   InsertMembershipVersionKey, InsertMembershipKey, UpdateMembershipKey,
--   UpdateIAmAlivetimeKey (sic: lower-case "t"), MembershipReadRowKey,
--   MembershipReadAllKey, GatewaysQueryKey, DeleteMembershipTableEntriesKey,
--   CleanupDefunctSiloEntriesKey.
-- Optional key, used by 10.4.2 when present:
--   CleanupDefunctSiloEntryKey (per-row pruning of dead silos).
-- =============================================================================

-- One row per cluster; Version is the etag of the cluster's membership view.
CREATE TABLE OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   NOT NULL,
    Timestamp    timestamptz(3) NOT NULL DEFAULT now(),
    Version      integer        NOT NULL DEFAULT 0,

    CONSTRAINT PK_OrleansMembershipVersionTable_DeploymentId PRIMARY KEY (DeploymentId)
);

-- One row per silo incarnation (address, port, generation) in a cluster.
CREATE TABLE OrleansMembershipTable
(
    DeploymentId varchar(150)   NOT NULL,
    Address      varchar(45)    NOT NULL,
    Port         integer        NOT NULL,
    Generation   integer        NOT NULL,
    SiloName     varchar(150)   NOT NULL,
    HostName     varchar(150)   NOT NULL,
    Status       integer        NOT NULL,
    ProxyPort    integer        NULL,
    SuspectTimes varchar(8000)  NULL,
    StartTime    timestamptz(3) NOT NULL,
    IAmAliveTime timestamptz(3) NOT NULL,

    CONSTRAINT PK_MembershipTable_DeploymentId PRIMARY KEY (DeploymentId, Address, Port, Generation),
    CONSTRAINT FK_MembershipTable_MembershipVersionTable_DeploymentId
        FOREIGN KEY (DeploymentId) REFERENCES OrleansMembershipVersionTable (DeploymentId)
);

-- -----------------------------------------------------------------------------
-- Heartbeat. Not versioned and never checked by Orleans. GREATEST keeps the
-- timestamp monotonic if two heartbeats arrive out of order.
-- -----------------------------------------------------------------------------
CREATE FUNCTION update_i_am_alive_time(
    deployment_id   varchar,
    address_arg     varchar,
    port_arg        integer,
    generation_arg  integer,
    i_am_alive_time timestamptz)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    UPDATE OrleansMembershipTable AS m
    SET IAmAliveTime = GREATEST(m.IAmAliveTime, i_am_alive_time)
    WHERE m.DeploymentId = deployment_id
      AND m.Address      = address_arg
      AND m.Port         = port_arg
      AND m.Generation   = generation_arg;
END
$$;

-- -----------------------------------------------------------------------------
-- Creates the cluster's version row if it is missing.
-- Returns a single row: 1 if it was created, 0 if it already existed.
-- -----------------------------------------------------------------------------
CREATE FUNCTION insert_membership_version(
    DeploymentIdArg varchar)
RETURNS TABLE(row_count integer)
LANGUAGE plpgsql
AS $$
DECLARE
    inserted integer := 0;
BEGIN
    INSERT INTO OrleansMembershipVersionTable (DeploymentId)
    VALUES (DeploymentIdArg)
    ON CONFLICT (DeploymentId) DO NOTHING;

    GET DIAGNOSTICS inserted = ROW_COUNT;
    RETURN QUERY SELECT inserted;
END
$$;

-- -----------------------------------------------------------------------------
-- Adds a silo row, conditional on the caller's table version.
-- The version is bumped first (which also serialises concurrent writers on the
-- version row); if the silo row then turns out to exist already, the inner
-- block is abandoned, which rolls the version bump back as well.
-- Returns a single row: 1 on success, 0 on a stale version or duplicate silo.
-- -----------------------------------------------------------------------------
CREATE FUNCTION insert_membership(
    DeploymentIdArg varchar,
    AddressArg      varchar,
    PortArg         integer,
    GenerationArg   integer,
    SiloNameArg     varchar,
    HostNameArg     varchar,
    StatusArg       integer,
    ProxyPortArg    integer,
    StartTimeArg    timestamptz,
    IAmAliveTimeArg timestamptz,
    VersionArg      integer)
RETURNS TABLE(row_count integer)
LANGUAGE plpgsql
AS $$
DECLARE
    affected integer := 0;
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable
        SET Timestamp = now(),
            Version   = Version + 1
        WHERE DeploymentId = DeploymentIdArg
          AND Version      = VersionArg
          AND Version      < 2147483647;

        GET DIAGNOSTICS affected = ROW_COUNT;

        IF affected > 0 THEN
            INSERT INTO OrleansMembershipTable
                (DeploymentId, Address, Port, Generation, SiloName, HostName,
                 Status, ProxyPort, StartTime, IAmAliveTime)
            VALUES
                (DeploymentIdArg, AddressArg, PortArg, GenerationArg, SiloNameArg, HostNameArg,
                 StatusArg, ProxyPortArg, StartTimeArg, IAmAliveTimeArg)
            ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;

            GET DIAGNOSTICS affected = ROW_COUNT;
        END IF;

        IF affected = 0 THEN
            -- Private SQLSTATE: undo this block's writes and report failure.
            RAISE EXCEPTION 'membership insert rejected' USING ERRCODE = 'ORL01';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'ORL01' THEN
            affected := 0;
    END;

    RETURN QUERY SELECT affected;
END
$$;

-- -----------------------------------------------------------------------------
-- Updates a silo row (status, suspicions, heartbeat), conditional on the
-- caller's table version. Same all-or-nothing shape as insert_membership.
-- Returns a single row: 1 on success, 0 on a stale version or unknown silo.
-- -----------------------------------------------------------------------------
CREATE FUNCTION update_membership(
    DeploymentIdArg varchar,
    AddressArg      varchar,
    PortArg         integer,
    GenerationArg   integer,
    StatusArg       integer,
    SuspectTimesArg varchar,
    IAmAliveTimeArg timestamptz,
    VersionArg      integer)
RETURNS TABLE(row_count integer)
LANGUAGE plpgsql
AS $$
DECLARE
    affected integer := 0;
BEGIN
    BEGIN
        UPDATE OrleansMembershipVersionTable
        SET Timestamp = now(),
            Version   = Version + 1
        WHERE DeploymentId = DeploymentIdArg
          AND Version      = VersionArg
          AND Version      < 2147483647;

        GET DIAGNOSTICS affected = ROW_COUNT;

        IF affected > 0 THEN
            UPDATE OrleansMembershipTable AS m
            SET Status       = StatusArg,
                SuspectTimes = SuspectTimesArg,
                IAmAliveTime = GREATEST(m.IAmAliveTime, IAmAliveTimeArg)
            WHERE m.DeploymentId = DeploymentIdArg
              AND m.Address      = AddressArg
              AND m.Port         = PortArg
              AND m.Generation   = GenerationArg;

            GET DIAGNOSTICS affected = ROW_COUNT;
        END IF;

        IF affected = 0 THEN
            RAISE EXCEPTION 'membership update rejected' USING ERRCODE = 'ORL01';
        END IF;
    EXCEPTION
        WHEN SQLSTATE 'ORL01' THEN
            affected := 0;
    END;

    RETURN QUERY SELECT affected;
END
$$;

-- -----------------------------------------------------------------------------
-- Query catalogue entries.
-- Read queries must return the version row even when no silo row matches
-- (hence the LEFT JOIN from the version table): Orleans takes the table etag
-- from column Version and detects "no silo" from a NULL StartTime.
-- -----------------------------------------------------------------------------
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
(
    'InsertMembershipVersionKey',
    'SELECT * FROM insert_membership_version(@DeploymentId);'
),
(
    'InsertMembershipKey',
    'SELECT * FROM insert_membership(
        @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
        @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);'
),
(
    'UpdateMembershipKey',
    'SELECT * FROM update_membership(
        @DeploymentId, @Address, @Port, @Generation,
        @Status, @SuspectTimes, @IAmAliveTime, @Version);'
),
(
    'UpdateIAmAlivetimeKey',
    'SELECT update_i_am_alive_time(@DeploymentId, @Address, @Port, @Generation, @IAmAliveTime);'
),
(
    'MembershipReadRowKey',
    'SELECT
        v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName,
        m.Status, m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime,
        v.Version
    FROM OrleansMembershipVersionTable AS v
    LEFT JOIN OrleansMembershipTable AS m
           ON m.DeploymentId = v.DeploymentId
          AND m.Address      = @Address
          AND m.Port         = @Port
          AND m.Generation   = @Generation
    WHERE v.DeploymentId = @DeploymentId;'
),
(
    'MembershipReadAllKey',
    'SELECT
        v.DeploymentId, m.Address, m.Port, m.Generation, m.SiloName, m.HostName,
        m.Status, m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime,
        v.Version
    FROM OrleansMembershipVersionTable AS v
    LEFT JOIN OrleansMembershipTable AS m
           ON m.DeploymentId = v.DeploymentId
    WHERE v.DeploymentId = @DeploymentId;'
),
(
    'GatewaysQueryKey',
    'SELECT Address, ProxyPort, Generation
    FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Status       = @Status
      AND ProxyPort    > 0;'
),
(
    'DeleteMembershipTableEntriesKey',
    'DELETE FROM OrleansMembershipTable        WHERE DeploymentId = @DeploymentId;
    DELETE FROM OrleansMembershipVersionTable WHERE DeploymentId = @DeploymentId;'
),
-- Bulk pruning (only used when CleanupDefunctSiloEntryKey is absent): removes
-- Dead (6) silos that started and last heartbeated before the cut-off and
-- carry no suspicion votes.
(
    'CleanupDefunctSiloEntriesKey',
    'DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Status       = 6
      AND IAmAliveTime < @IAmAliveTime
      AND StartTime    < @IAmAliveTime
      AND (SuspectTimes IS NULL OR SuspectTimes = '''');'
),
-- Per-row pruning: the provider reads the table, picks Dead rows older than
-- the cut-off, and deletes each one only if it is still exactly as read.
(
    'CleanupDefunctSiloEntryKey',
    'DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Address      = @Address
      AND Port         = @Port
      AND Generation   = @Generation
      AND Status       = 6
      AND StartTime    = @StartTime
      AND IAmAliveTime = @IAmAliveTime
      AND COALESCE(SuspectTimes, '''') = COALESCE(@SuspectTimes, '''');'
);

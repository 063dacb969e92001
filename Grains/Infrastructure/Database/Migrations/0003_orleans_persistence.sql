-- =============================================================================
-- 0003 - Orleans ADO.NET grain persistence
-- Target: Microsoft.Orleans.Persistence.AdoNet 10.4.2, PostgreSQL.
--
-- Contract with the provider (Npgsql parameters, same set for every key):
--   @GrainIdHash             int4   hash of the grain key bytes
--   @GrainIdN0, @GrainIdN1   int8   numeric parts of the grain key (0 for string keys)
--   @GrainTypeHash           int4   hash of @GrainTypeString
--   @GrainTypeString         text   grain type name without generic arity
--   @GrainIdExtensionString  text   string key / key extension, may be NULL
--   @ServiceId               text   Orleans ServiceId
--   @GrainStateVersion       int4   the etag the grain holds, NULL if it has none
--   @PayloadBinary           bytea  serialized state (write only)
-- Result columns the provider reads by name:
--   ReadFromStorageKey  -> PayloadBinary, Version
--   WriteToStorageKey   -> NewGrainStateVersion
--   ClearStorageKey / DeleteStorageKey -> first column = new version
--
-- Version (etag) protocol, as enforced by the provider:
--   * A write/clear/delete "succeeds" only if the returned version is non-NULL
--     and differs from the version sent. Returning the unchanged version, or
--     nothing, makes Orleans raise InconsistentStateException.
--   * Version NULL from the grain means "never stored": the row is inserted
--     with Version 1, unless some row already exists (then NULL comes back,
--     i.e. a conflict).
--   * ClearStorageKey keeps the row (payload NULL, version + 1) so the etag
--     chain continues; DeleteStorageKey (only used with
--     DeleteStateOnClear = true) removes the row and the grain's etag becomes
--     NULL again.
--
-- Only PayloadBinary is stored: Orleans 7+ serializes state itself and no
-- longer sends JSON/XML payload parameters.
-- Keys required: WriteToStorageKey, ReadFromStorageKey, ClearStorageKey.
-- Optional:      DeleteStorageKey (mandatory if DeleteStateOnClear = true).
-- =============================================================================

-- No primary key: the identifying columns are too wide to index cheaply, so
-- rows are located by the two hashes and then filtered on the full identity.
CREATE TABLE OrleansStorage
(
    GrainIdHash            integer      NOT NULL,
    GrainIdN0              bigint       NOT NULL,
    GrainIdN1              bigint       NOT NULL,
    GrainTypeHash          integer      NOT NULL,
    GrainTypeString        varchar(512) NOT NULL,
    GrainIdExtensionString varchar(512) NULL,
    ServiceId              varchar(150) NOT NULL,
    PayloadBinary          bytea        NULL,
    ModifiedOn             timestamptz  NOT NULL,
    Version                integer      NULL
);

CREATE INDEX IX_OrleansStorage ON OrleansStorage (GrainIdHash, GrainTypeHash);

-- -----------------------------------------------------------------------------
-- Insert-or-update with optimistic concurrency; returns NewGrainStateVersion.
-- -----------------------------------------------------------------------------
CREATE FUNCTION writetostorage(
    _grainidhash            integer,
    _grainidn0              bigint,
    _grainidn1              bigint,
    _graintypehash          integer,
    _graintypestring        varchar,
    _grainidextensionstring varchar,
    _serviceid              varchar,
    _grainstateversion      integer,
    _payloadbinary          bytea)
RETURNS TABLE(newgrainstateversion integer)
LANGUAGE plpgsql
AS $$
DECLARE
    result_version integer := _grainstateversion;
    affected       integer := 0;
BEGIN
    IF _grainstateversion IS NOT NULL THEN
        -- The grain has read (or written) this state before: update it only
        -- if nobody else has moved the version on in the meantime.
        UPDATE OrleansStorage
        SET PayloadBinary = _payloadbinary,
            ModifiedOn    = now(),
            Version       = Version + 1
        WHERE GrainIdHash   = _grainidhash
          AND GrainTypeHash = _graintypehash
          AND GrainIdN0     = _grainidn0
          AND GrainIdN1     = _grainidn1
          AND GrainTypeString = _graintypestring
          AND GrainIdExtensionString IS NOT DISTINCT FROM _grainidextensionstring
          AND ServiceId     = _serviceid
          AND Version       = _grainstateversion;

        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected > 0 THEN
            result_version := _grainstateversion + 1;
        END IF;
        -- Otherwise the unchanged version is returned, which Orleans treats
        -- as a conflict.
    ELSE
        -- First write for this grain. The table has no unique key, so two
        -- activations racing here (e.g. during a split brain) could both pass
        -- the NOT EXISTS check. A transaction-scoped advisory lock on the two
        -- hashes serialises them; the loser then sees the winner's row and
        -- gets NULL back (a conflict). The lock is released at commit.
        PERFORM pg_advisory_xact_lock(_grainidhash, _graintypehash);

        INSERT INTO OrleansStorage
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
             GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
        SELECT
            _grainidhash, _grainidn0, _grainidn1, _graintypehash, _graintypestring,
            _grainidextensionstring, _serviceid, _payloadbinary, now(), 1
        WHERE NOT EXISTS
        (
            SELECT 1
            FROM OrleansStorage
            WHERE GrainIdHash   = _grainidhash
              AND GrainTypeHash = _graintypehash
              AND GrainIdN0     = _grainidn0
              AND GrainIdN1     = _grainidn1
              AND GrainTypeString = _graintypestring
              AND GrainIdExtensionString IS NOT DISTINCT FROM _grainidextensionstring
              AND ServiceId     = _serviceid
        );

        GET DIAGNOSTICS affected = ROW_COUNT;
        IF affected > 0 THEN
            result_version := 1;
        END IF;
    END IF;

    RETURN QUERY SELECT result_version;
END
$$;

-- -----------------------------------------------------------------------------
-- Query catalogue entries.
-- -----------------------------------------------------------------------------
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
(
    'WriteToStorageKey',
    'SELECT NewGrainStateVersion FROM writetostorage(
        @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
        @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary);'
),
(
    'ReadFromStorageKey',
    'SELECT PayloadBinary, Version
    FROM OrleansStorage
    WHERE GrainIdHash   = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0     = @GrainIdN0
      AND GrainIdN1     = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId     = @ServiceId;'
),
(
    'ClearStorageKey',
    'UPDATE OrleansStorage
    SET PayloadBinary = NULL,
        ModifiedOn    = now(),
        Version       = Version + 1
    WHERE GrainIdHash   = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0     = @GrainIdN0
      AND GrainIdN1     = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId     = @ServiceId
      AND Version       = @GrainStateVersion
    RETURNING Version AS NewGrainStateVersion;'
),
(
    'DeleteStorageKey',
    'DELETE FROM OrleansStorage
    WHERE GrainIdHash   = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0     = @GrainIdN0
      AND GrainIdN1     = @GrainIdN1
      AND GrainTypeString = @GrainTypeString
      AND GrainIdExtensionString IS NOT DISTINCT FROM @GrainIdExtensionString
      AND ServiceId     = @ServiceId
      AND Version       = @GrainStateVersion
    RETURNING Version + 1 AS NewGrainStateVersion;'
);

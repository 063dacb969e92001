-- =============================================================================
-- 0004 - Orleans ADO.NET reminders
-- Target: Microsoft.Orleans.Reminders.AdoNet 10.4.2, PostgreSQL.
--
-- Contract with the provider (Npgsql parameters):
--   @ServiceId      text
--   @GrainId        text    GrainId.ToString(), e.g. "type/key"
--   @ReminderName   text
--   @StartTime      timestamp (UTC DateTime)
--   @Period         int4, or int8 when the period exceeds int.MaxValue ms
--   @GrainHash      int4    GrainId uniform hash, unsigned value cast to int
--   @BeginHash, @EndHash  int4  ring range, same signed encoding
--   @Version        int4    the reminder's etag
-- Result columns read by name: GrainId, ReminderName, StartTime,
-- Period (read as int8, milliseconds), Version.
--
-- Note: the 10.4.2 provider sends none of the cron/priority columns that newer
-- upstream scripts carry (CronExpression, NextDueUtc, ...); they are not
-- created here. Referencing parameters the provider does not bind would fail.
--
-- Keys required: ReadReminderRowsKey, ReadReminderRowKey, ReadRangeRows1Key,
-- ReadRangeRows2Key, UpsertReminderRowKey, DeleteReminderRowKey,
-- DeleteReminderRowsKey.
-- =============================================================================

CREATE TABLE OrleansRemindersTable
(
    ServiceId    varchar(150)   NOT NULL,
    GrainId      varchar(512)   NOT NULL,
    ReminderName varchar(150)   NOT NULL,
    StartTime    timestamptz(3) NOT NULL,
    Period       bigint         NOT NULL,
    GrainHash    integer        NOT NULL,
    Version      integer        NOT NULL,

    CONSTRAINT PK_RemindersTable_ServiceId_GrainId_ReminderName PRIMARY KEY (ServiceId, GrainId, ReminderName)
);

-- Every silo periodically loads the reminders of its hash-ring slice
-- (ReadRangeRows1Key / ReadRangeRows2Key filter on ServiceId + GrainHash range).
-- The primary key cannot serve that, so give it its own index.
CREATE INDEX IX_OrleansRemindersTable_ServiceId_GrainHash
    ON OrleansRemindersTable (ServiceId, GrainHash);

-- -----------------------------------------------------------------------------
-- Insert a reminder with Version 0, or replace its schedule and bump Version.
-- Returns one row with column "version" (the new etag).
-- -----------------------------------------------------------------------------
CREATE FUNCTION upsert_reminder_row(
    ServiceIdArg    varchar,
    GrainIdArg      varchar,
    ReminderNameArg varchar,
    StartTimeArg    timestamptz,
    PeriodArg       bigint,
    GrainHashArg    integer)
RETURNS TABLE(version integer)
LANGUAGE sql
AS $$
    INSERT INTO OrleansRemindersTable AS r
        (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
    VALUES
        (ServiceIdArg, GrainIdArg, ReminderNameArg, StartTimeArg, PeriodArg, GrainHashArg, 0)
    ON CONFLICT (ServiceId, GrainId, ReminderName) DO UPDATE
    SET StartTime = excluded.StartTime,
        Period    = excluded.Period,
        GrainHash = excluded.GrainHash,
        Version   = r.Version + 1
    RETURNING r.Version;
$$;

-- -----------------------------------------------------------------------------
-- Delete one reminder if its etag still matches.
-- Returns one row: 1 if deleted, 0 if missing or the etag was stale.
-- -----------------------------------------------------------------------------
CREATE FUNCTION delete_reminder_row(
    ServiceIdArg    varchar,
    GrainIdArg      varchar,
    ReminderNameArg varchar,
    VersionArg      integer)
RETURNS TABLE(row_count integer)
LANGUAGE sql
AS $$
    WITH removed AS
    (
        DELETE FROM OrleansRemindersTable AS r
        WHERE r.ServiceId    = ServiceIdArg
          AND r.GrainId      = GrainIdArg
          AND r.ReminderName = ReminderNameArg
          AND r.Version      = VersionArg
        RETURNING 1
    )
    SELECT count(*)::integer FROM removed;
$$;

-- -----------------------------------------------------------------------------
-- Query catalogue entries.
-- Range semantics (hash ring, signed int4 encoding):
--   Rows1: BeginHash <  EndHash  -> (BeginHash, EndHash]
--   Rows2: otherwise (wrap-around) -> (BeginHash, max] U [min, EndHash]
-- -----------------------------------------------------------------------------
INSERT INTO OrleansQuery (QueryKey, QueryText) VALUES
(
    'UpsertReminderRowKey',
    'SELECT version AS Version FROM upsert_reminder_row(
        @ServiceId, @GrainId, @ReminderName, @StartTime, @Period::bigint, @GrainHash);'
),
(
    'ReadReminderRowsKey',
    'SELECT GrainId, ReminderName, StartTime, Period, Version
    FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId
      AND GrainId   = @GrainId;'
),
(
    'ReadReminderRowKey',
    'SELECT GrainId, ReminderName, StartTime, Period, Version
    FROM OrleansRemindersTable
    WHERE ServiceId    = @ServiceId
      AND GrainId      = @GrainId
      AND ReminderName = @ReminderName;'
),
(
    'ReadRangeRows1Key',
    'SELECT GrainId, ReminderName, StartTime, Period, Version
    FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId
      AND GrainHash > @BeginHash
      AND GrainHash <= @EndHash;'
),
(
    'ReadRangeRows2Key',
    'SELECT GrainId, ReminderName, StartTime, Period, Version
    FROM OrleansRemindersTable
    WHERE ServiceId = @ServiceId
      AND (GrainHash > @BeginHash OR GrainHash <= @EndHash);'
),
(
    'DeleteReminderRowKey',
    'SELECT row_count FROM delete_reminder_row(@ServiceId, @GrainId, @ReminderName, @Version);'
),
(
    'DeleteReminderRowsKey',
    'DELETE FROM OrleansRemindersTable WHERE ServiceId = @ServiceId;'
);

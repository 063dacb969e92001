-- =============================================================================
-- 0001 - Orleans ADO.NET: query catalogue
-- Target: Microsoft.Orleans.*.AdoNet 10.4.2 on PostgreSQL (Npgsql invariant).
--
-- The Orleans ADO.NET providers do not embed any SQL of their own. At start-up
-- each provider runs the fixed statement
--     SELECT QueryKey, QueryText FROM OrleansQuery
-- (persistence adds a WHERE on its four keys) and afterwards only executes the
-- QueryText values it finds here, binding Npgsql parameters named @Xxx.
-- Scripts 0002-0004 populate this table. A missing mandatory key fails silo
-- start-up ("Not all required queries found" from clustering/reminders, an
-- InvalidOperationException from persistence).
--
-- Conventions used by all Orleans migrations in this folder:
--   * Identifiers are intentionally NOT double-quoted. PostgreSQL folds them to
--     lower case, which is what the hard-coded statement above expects, and
--     Npgsql resolves result columns by name case-insensitively
--     (e.g. the provider asks for "Version" and gets "version").
--     Quoting any identifier here would break the providers.
--   * Function bodies use plain $$ quoting. A named dollar tag (a word between
--     two dollar signs) is taken for a variable by DbUp's variable
--     substitution, which is on by default - even inside comments.
--   * Each file is plain SQL for DbUp (dbup-postgresql 7 splits it into
--     statements with a lexer that respects '...' literals and $$ bodies), so
--     no psql meta-commands.
--   * No transaction control statements: the migration runner owns the
--     transaction.
-- =============================================================================

CREATE TABLE OrleansQuery
(
    QueryKey  varchar(64)   NOT NULL,
    QueryText varchar(8000) NOT NULL,

    CONSTRAINT OrleansQuery_Key PRIMARY KEY (QueryKey)
);

COMMENT ON TABLE OrleansQuery IS
    'SQL executed by the Orleans ADO.NET providers, keyed by the name the provider looks up. Edit with care: parameter names and result column names are a contract with Orleans.';

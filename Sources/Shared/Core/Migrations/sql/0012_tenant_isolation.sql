-- Row-level security on every tenant table (#17): the management API's second wall.
--
-- The API scopes every tenant query by hand (`WHERE tenant = …`). Behind that, each tenant request
-- runs its statements in a transaction as the role `junction_tenant` with `junction.tenant` set to
-- the token's tenant (`PostgresConnection.asTenant`), and the policies below show that role only
-- the tenant's rows: a query that forgot its filter still reads, changes and deletes nothing of
-- another tenant's. Unset, the setting matches no row (fails closed).
--
-- The processes connect as the tables' owner, which row-level security does not restrict (no
-- FORCE): workers, the scheduler, the CLI and the admin API work across tenants as before.
--
-- The role is the cluster's, shared by every Junction database on it. The user that migrates needs
-- CREATEROLE to create it once, or an administrator creates it beforehand
-- (`CREATE ROLE junction_tenant NOLOGIN` and `GRANT junction_tenant TO <the app's user>`).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'junction_tenant') THEN
        BEGIN
            CREATE ROLE junction_tenant NOLOGIN;
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- another database of this cluster created it at the same moment
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'the role junction_tenant does not exist and % may not create it; as an administrator, run once '
                                'CREATE ROLE junction_tenant NOLOGIN; GRANT junction_tenant TO %; then migrate again '
                                '(docs/operations.md, "The database user")', current_user, quote_ident(current_user);
        END;
    END IF;
    IF NOT pg_has_role(current_user, 'junction_tenant', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT junction_tenant TO %I', current_user);
        EXCEPTION
            WHEN unique_violation THEN
                NULL; -- granted by another database's migration at the same moment
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION '% is not a member of the role junction_tenant and may not make itself one; as an administrator, '
                                'run once GRANT junction_tenant TO %; then migrate again (docs/operations.md, "The database user")',
                                current_user, quote_ident(current_user);
        END;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO junction_tenant;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO junction_tenant;
GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO junction_tenant;
-- Tables later migrations create get the same grants (and must get a policy: a test checks that
-- every table with a `tenant` or `connection_id` column has row-level security).
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO junction_tenant;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO junction_tenant;

-- Tables whose every row names its tenant.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['connections', 'credentials', 'connection_events', 'sync_state', 'records', 'sync_runs',
                             'api_audit', 'field_mappings', 'pushes']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I TO junction_tenant
                          USING (tenant = current_setting('junction.tenant', true))
                          WITH CHECK (tenant = current_setting('junction.tenant', true))$p$, t);
    END LOOP;
END
$$;

-- Tables whose rows name a tenant, a connection, or neither (a webhook or an endpoint no connection claimed, a
-- system schedule): the tenant's are those naming it or one of its connections (the subquery
-- reads `connections` under its own policy).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['webhook_events', 'webhook_endpoints', 'job_runs', 'schedules']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format($p$CREATE POLICY tenant_isolation ON %I TO junction_tenant
                          USING (tenant = current_setting('junction.tenant', true) OR connection_id IN (SELECT id FROM connections))
                          WITH CHECK (tenant = current_setting('junction.tenant', true) OR connection_id IN (SELECT id FROM connections))$p$, t);
    END LOOP;
END
$$;

ALTER TABLE credential_refreshes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credential_refreshes TO junction_tenant
    USING (connection_id IN (SELECT id FROM connections))
    WITH CHECK (connection_id IN (SELECT id FROM connections));

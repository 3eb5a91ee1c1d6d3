-- Field mappings (#18): a tenant's own mapping of one provider resource, every version kept (the
-- newest applies; with none, the resource's default, version 0). Never updated: a change is a
-- new version.
CREATE TABLE field_mappings (
    tenant     text NOT NULL,
    provider   text NOT NULL,
    resource   text NOT NULL,
    version    integer NOT NULL CHECK (version > 0),
    rules      jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Who saved it (`tenant:<tenant>:<subject>`, as the audit log names actors).
    created_by text,
    PRIMARY KEY (tenant, provider, resource, version)
);

-- Each record's mapped form, next to the provider's object, and the mapping version that made
-- it (0: the default). NULL for a resource with no mapping.
ALTER TABLE records ADD COLUMN mapped jsonb, ADD COLUMN mapping_version integer;
-- What a new version re-maps: the tenant's records of one resource.
CREATE INDEX records_mapping_idx ON records (tenant, provider, resource, mapping_version) WHERE deleted_at IS NULL;

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The initial schema of Lodge's state: projects, storage pools, instances, profiles, images and
 * aliases, certificates, server config, operations and idmap allocations. Seeds project
 * `default`, profile `default` and storage pool `default`. down() is the exact reverse.
 *
 * Constraint names are part of the contract: the repositories translate violations of them into
 * LXD-worded domain errors (libs/state/src/db-errors.ts).
 */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE projects (
        id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name        text NOT NULL CONSTRAINT projects_name_key UNIQUE,
        description text NOT NULL DEFAULT '',
        config      jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await q.query(`
      CREATE TABLE storage_pools (
        id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name        text NOT NULL CONSTRAINT storage_pools_name_key UNIQUE,
        driver      text NOT NULL,
        description text NOT NULL DEFAULT '',
        config      jsonb NOT NULL DEFAULT '{}'::jsonb
      )`);
    await q.query(`
      CREATE TABLE instances (
        id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project      text NOT NULL DEFAULT 'default'
                     CONSTRAINT instances_project_fkey REFERENCES projects (name) ON UPDATE CASCADE,
        name         text NOT NULL,
        type         text NOT NULL DEFAULT 'container' CONSTRAINT instances_type_check CHECK (type IN ('container')),
        architecture text NOT NULL,
        ephemeral    boolean NOT NULL DEFAULT false,
        stateful     boolean NOT NULL DEFAULT false,
        description  text NOT NULL DEFAULT '',
        config       jsonb NOT NULL DEFAULT '{}'::jsonb,
        devices      jsonb NOT NULL DEFAULT '{}'::jsonb,
        profiles     text[] NOT NULL DEFAULT '{}',
        status       text NOT NULL DEFAULT 'Stopped'
                     CONSTRAINT instances_status_check CHECK (status IN ('Running', 'Stopped', 'Frozen')),
        created_at   timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        runtime      jsonb,
        storage_pool text CONSTRAINT instances_storage_pool_fkey REFERENCES storage_pools (name) ON UPDATE CASCADE,
        nova_uuid    uuid,
        CONSTRAINT instances_project_name_key UNIQUE (project, name)
      )`);
    await q.query(`CREATE INDEX instances_profiles_idx ON instances USING gin (profiles)`);
    await q.query(`CREATE UNIQUE INDEX instances_nova_uuid_key ON instances (nova_uuid) WHERE nova_uuid IS NOT NULL`);
    await q.query(`
      CREATE TABLE profiles (
        id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project     text NOT NULL DEFAULT 'default'
                    CONSTRAINT profiles_project_fkey REFERENCES projects (name) ON UPDATE CASCADE,
        name        text NOT NULL,
        description text NOT NULL DEFAULT '',
        config      jsonb NOT NULL DEFAULT '{}'::jsonb,
        devices     jsonb NOT NULL DEFAULT '{}'::jsonb,
        CONSTRAINT profiles_project_name_key UNIQUE (project, name)
      )`);
    await q.query(`
      CREATE TABLE images (
        id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        fingerprint  text NOT NULL CONSTRAINT images_fingerprint_key UNIQUE
                     CONSTRAINT images_fingerprint_check CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
        filename     text NOT NULL DEFAULT '',
        size         bigint NOT NULL DEFAULT 0,
        architecture text NOT NULL,
        type         text NOT NULL DEFAULT 'container' CONSTRAINT images_type_check CHECK (type IN ('container')),
        public       boolean NOT NULL DEFAULT false,
        auto_update  boolean NOT NULL DEFAULT false,
        cached       boolean NOT NULL DEFAULT false,
        properties   jsonb NOT NULL DEFAULT '{}'::jsonb,
        metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at   timestamptz NOT NULL DEFAULT now(),
        uploaded_at  timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz,
        last_used_at timestamptz
      )`);
    await q.query(`
      CREATE TABLE image_aliases (
        id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        project     text NOT NULL DEFAULT 'default'
                    CONSTRAINT image_aliases_project_fkey REFERENCES projects (name) ON UPDATE CASCADE,
        name        text NOT NULL,
        description text NOT NULL DEFAULT '',
        fingerprint text NOT NULL CONSTRAINT image_aliases_fingerprint_fkey
                    REFERENCES images (fingerprint) ON DELETE CASCADE ON UPDATE CASCADE,
        CONSTRAINT image_aliases_project_name_key UNIQUE (project, name)
      )`);
    await q.query(`CREATE INDEX image_aliases_fingerprint_idx ON image_aliases (fingerprint)`);
    await q.query(`
      CREATE TABLE certificates (
        id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        fingerprint text NOT NULL CONSTRAINT certificates_fingerprint_key UNIQUE,
        type        text NOT NULL DEFAULT 'client' CONSTRAINT certificates_type_check CHECK (type IN ('client')),
        name        text NOT NULL DEFAULT '',
        certificate text NOT NULL,
        restricted  boolean NOT NULL DEFAULT false,
        projects    text[] NOT NULL DEFAULT '{}'
      )`);
    await q.query(`
      CREATE TABLE server_config (
        key   text PRIMARY KEY,
        value text NOT NULL
      )`);
    await q.query(`
      CREATE TABLE operations (
        id          uuid PRIMARY KEY,
        class       text NOT NULL CONSTRAINT operations_class_check CHECK (class IN ('task', 'websocket', 'token')),
        description text NOT NULL DEFAULT '',
        status_code integer NOT NULL,
        resources   jsonb NOT NULL DEFAULT '{}'::jsonb,
        metadata    jsonb,
        err         text NOT NULL DEFAULT '',
        may_cancel  boolean NOT NULL DEFAULT false,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // Host id ranges [base, base + size) of different instances can never overlap: two gist
    // exclusion constraints on int8range (built-in range opclass, no extension needed).
    await q.query(`
      CREATE TABLE idmap_allocations (
        id            integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        instance_id   integer NOT NULL CONSTRAINT idmap_allocations_instance_id_key UNIQUE
                      CONSTRAINT idmap_allocations_instance_id_fkey REFERENCES instances (id) ON DELETE CASCADE,
        host_uid_base bigint NOT NULL CONSTRAINT idmap_allocations_host_uid_base_check CHECK (host_uid_base >= 0),
        host_gid_base bigint NOT NULL CONSTRAINT idmap_allocations_host_gid_base_check CHECK (host_gid_base >= 0),
        size          integer NOT NULL CONSTRAINT idmap_allocations_size_check CHECK (size > 0),
        CONSTRAINT idmap_allocations_uid_excl EXCLUDE USING gist (int8range(host_uid_base, host_uid_base + size) WITH &&),
        CONSTRAINT idmap_allocations_gid_excl EXCLUDE USING gist (int8range(host_gid_base, host_gid_base + size) WITH &&)
      )`);

    await q.query(`
      INSERT INTO projects (name, description, config) VALUES ('default', 'Default LXD project',
        '{"features.images": "true", "features.profiles": "true", "features.storage.volumes": "true", "features.networks": "true"}')`);
    await q.query(`INSERT INTO storage_pools (name, driver, description, config) VALUES ('default', 'dir', '', '{}')`);
    await q.query(`
      INSERT INTO profiles (project, name, description, config, devices) VALUES ('default', 'default', 'Default LXD profile',
        '{}', '{"root": {"type": "disk", "path": "/", "pool": "default"}}')`);
  }

  async down(q: QueryRunner): Promise<void> {
    // The seeded rows go with their tables.
    await q.query(`DROP TABLE idmap_allocations`);
    await q.query(`DROP TABLE operations`);
    await q.query(`DROP TABLE server_config`);
    await q.query(`DROP TABLE certificates`);
    await q.query(`DROP TABLE image_aliases`);
    await q.query(`DROP TABLE images`);
    await q.query(`DROP TABLE profiles`);
    await q.query(`DROP TABLE instances`);
    await q.query(`DROP TABLE storage_pools`);
    await q.query(`DROP TABLE projects`);
  }
}

import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Managed networks and the addresses handed out on them.
 *
 * `network_allocations` is the IPAM's truth: one row per NIC (instance + device) on a network, with
 * its MAC and IPv4 address. UNIQUE (network_id, ipv4_address) and UNIQUE (network_id, hwaddr) make
 * the database itself refuse a second holder of an address or MAC, whatever the daemon does across
 * restarts or concurrent launches. A network with allocations cannot be deleted (the foreign key
 * has no cascade); deleting an instance releases its allocations (cascade).
 */
export class Networks1795525676177 implements MigrationInterface {
  name = 'Networks1795525676177';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE networks (
        id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        name        text NOT NULL CONSTRAINT networks_name_key UNIQUE,
        type        text NOT NULL DEFAULT 'bridge' CONSTRAINT networks_type_check CHECK (type IN ('bridge', 'macvlan')),
        description text NOT NULL DEFAULT '',
        config      jsonb NOT NULL DEFAULT '{}'::jsonb,
        status      text NOT NULL DEFAULT 'Pending'
                    CONSTRAINT networks_status_check CHECK (status IN ('Pending', 'Created', 'Errored', 'Unavailable')),
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE network_allocations (
        id           integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        network_id   integer NOT NULL CONSTRAINT network_allocations_network_id_fkey REFERENCES networks (id),
        instance_id  integer NOT NULL
                     CONSTRAINT network_allocations_instance_id_fkey REFERENCES instances (id) ON DELETE CASCADE,
        device       text NOT NULL,
        hwaddr       macaddr NOT NULL,
        ipv4_address inet CONSTRAINT network_allocations_ipv4_address_check
                     CHECK (family(ipv4_address) = 4 AND masklen(ipv4_address) = 32),
        static       boolean NOT NULL DEFAULT false,
        created_at   timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT network_allocations_network_ipv4_key UNIQUE (network_id, ipv4_address),
        CONSTRAINT network_allocations_network_hwaddr_key UNIQUE (network_id, hwaddr),
        CONSTRAINT network_allocations_instance_device_key UNIQUE (instance_id, device)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE network_allocations`);
    await q.query(`DROP TABLE networks`);
  }
}

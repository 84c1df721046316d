/**
 * Juju's bootstrap of a local LXD, step by step through the REST API as Juju's LXD provider
 * makes it (VerifyNetworkDevice, EnableHTTPSListener, then polling GET /1.0 for the bridge's
 * address): a default profile without a NIC, the bridge created with `ipv4.address: auto`, an
 * eth0 NIC added to the default profile, the HTTPS listener on all addresses, and the bridge's
 * address with the listener's port in `environment.addresses`.
 *
 * Two deviations, both for running beside other tests on one machine: the bridge has a unique
 * name instead of `lxdbr0`, and the listener a free port instead of 8443 (`[::]:<port>` rather
 * than `[::]`).
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { EngineDaemon, startEngineDaemon } from '../engine-daemon';
import { freePort } from '../support';

describe("Juju's bootstrap sequence", () => {
  let d: EngineDaemon;
  const bridge = `ltj${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    d = await startEngineDaemon('juju');
  });
  afterAll(async () => {
    try {
      await d?.api('PUT', '/1.0/profiles/default', { body: { config: {}, description: 'Default LXD profile', devices: {} } }).catch(() => undefined);
      await d?.api('DELETE', `/1.0/networks/${bridge}`).catch(() => undefined);
      await d?.cleanup();
    } finally {
      if (existsSync(`/sys/class/net/${bridge}`)) execFileSync('ip', ['link', 'del', bridge]);
    }
  });

  it('ends with the bridge address and port in environment.addresses', async () => {
    const server = await d.api('GET', '/1.0');
    expect(server.json.metadata.api_extensions).toEqual(expect.arrayContaining(['network', 'network_state']));

    // VerifyNetworkDevice: the default profile has no NIC, and the bridge does not exist yet
    const profile = await d.api('GET', '/1.0/profiles/default');
    expect(Object.values(profile.json.metadata.devices as Record<string, { type: string }>).some((dev) => dev.type === 'nic')).toBe(false);
    const missing = await d.api('GET', `/1.0/networks/${bridge}`);
    expect(missing.status).toBe(404);
    expect(missing.json.error).toContain('not found');

    const created = await d.api('POST', '/1.0/networks', {
      body: { name: bridge, type: 'bridge', config: { 'ipv4.address': 'auto', 'ipv4.nat': 'true', 'ipv6.address': 'none', 'ipv6.nat': 'false' } },
    });
    expect(created.status).toBe(201); // LXD: 201 Created with the Location header
    expect(created.headers.location).toBe(`/1.0/networks/${bridge}`);
    const network = (await d.api('GET', `/1.0/networks/${bridge}`)).json.metadata;
    expect(network).toMatchObject({ name: bridge, type: 'bridge', managed: true, status: 'Created' });
    // "auto" became a concrete private /24, as LXD stores it
    const cidr: string = network.config['ipv4.address'];
    expect(cidr).toMatch(/^10\.\d+\.\d+\.1\/24$/);
    const bridgeAddress = cidr.split('/')[0];

    // Juju adds eth0 with nictype bridged and the bridge as parent, keeping the profile's ETag
    const etag = profile.headers.etag as string;
    const withNic = {
      config: profile.json.metadata.config,
      description: profile.json.metadata.description,
      devices: { ...profile.json.metadata.devices, eth0: { type: 'nic', nictype: 'bridged', parent: bridge, name: 'eth0' } },
    };
    expect((await d.api('PUT', '/1.0/profiles/default', { body: withNic, headers: { 'If-Match': etag } })).status).toBe(200);

    // its subnets come from the network's state
    const state = (await d.api('GET', `/1.0/networks/${bridge}/state`)).json.metadata;
    expect(state.state).toBe('up');
    expect(state.addresses).toContainEqual({ family: 'inet', address: bridgeAddress, netmask: '24', scope: 'global' });

    // EnableHTTPSListener, then GET /1.0 until environment.addresses has <bridge IPv4>:<port>
    const port = await freePort();
    expect((await d.api('PUT', '/1.0', { body: { config: { 'core.https_address': `[::]:${port}` } } })).status).toBe(200);
    const env = (await d.api('GET', '/1.0')).json.metadata.environment;
    expect(env.addresses).toContain(`${bridgeAddress}:${port}`);
    expect((await d.api('GET', '/1.0/networks/' + bridge)).json.metadata.used_by).toEqual(['/1.0/profiles/default']);
  });
});

/**
 * Proxy devices through Debian's `lxc` client on a real lodged: a host loopback port forwarded to
 * a web server on the container's own loopback, added to a running instance (hot-plug), there
 * again after a daemon restart, present from the start when the instance starts with it, and
 * gone when removed; bad devices refused with nothing changed. Traffic stays on 127.0.0.1 of the
 * host and of the containers.
 */
import { request } from 'node:http';
import { EngineDaemon, importBusybox, startEngineDaemon } from '../engine-daemon';
import { freePort, lxcClient, until } from '../support';

/** GET http://127.0.0.1:port/ -> body, or the connection error's code. */
function fetchLocal(port: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(`error:${err.code}`));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

describe('proxy devices', () => {
  let d: EngineDaemon;
  const client = lxcClient(() => d.dir);
  const lxc = (...args: string[]) => client.run(args);
  const ok = (...args: string[]) => client.ok(args);
  /** busybox httpd on the container's loopback only, serving one page */
  const serveWeb = (name: string, text: string) =>
    ok('exec', name, '--', 'sh', '-c', `mkdir -p /www && echo '${text}' > /www/index.html && httpd -p 127.0.0.1:8080 -h /www`);

  beforeAll(async () => {
    d = await startEngineDaemon('proxy');
    await importBusybox(d, 'bb');
    await lxc('remote', 'list'); // the first run writes the client's config
  });
  afterAll(async () => {
    try {
      await d?.cleanup();
    } finally {
      client.cleanup();
    }
  });

  it('forwards a host port to a web server on the container loopback, added while it runs', async () => {
    await ok('launch', 'bb', 'web1');
    await serveWeb('web1', 'hello from web1');
    const port = await freePort();
    expect(await fetchLocal(port)).toMatch(/^error:ECONNREFUSED/);
    await ok('config', 'device', 'add', 'web1', 'web', 'proxy', `listen=tcp:127.0.0.1:${port}`, 'connect=tcp:127.0.0.1:8080');
    expect(await fetchLocal(port)).toBe('hello from web1\n');
    expect(await ok('config', 'device', 'show', 'web1')).toContain(`listen: tcp:127.0.0.1:${port}`);

    // the daemon goes away and comes back: the container kept running, the proxy listens again
    await d.restart();
    expect(await until(async () => (await fetchLocal(port)) === 'hello from web1\n')).toBe(true);

    await ok('config', 'device', 'remove', 'web1', 'web');
    expect(await fetchLocal(port)).toMatch(/^error:ECONNREFUSED/);
    await ok('delete', '--force', 'web1');
  });

  it('is there from the start when the instance starts with it, and closes when it stops', async () => {
    const port = await freePort();
    await ok('init', 'bb', 'web2');
    await ok('config', 'device', 'add', 'web2', 'web', 'proxy', `listen=tcp:127.0.0.1:${port}`, 'connect=tcp:127.0.0.1:8080');
    await ok('start', 'web2');
    await serveWeb('web2', 'hello from web2');
    expect(await fetchLocal(port)).toBe('hello from web2\n');
    await ok('stop', '--force', 'web2');
    expect(await fetchLocal(port)).toMatch(/^error:ECONNREFUSED/);
    await ok('delete', 'web2');
  });

  it('refuses bad proxy devices and changes nothing', async () => {
    await ok('launch', 'bb', 'web3');
    const port = await freePort();
    // the listen address is taken (by the first proxy): the second is refused, the first stays
    await ok('config', 'device', 'add', 'web3', 'one', 'proxy', `listen=tcp:127.0.0.1:${port}`, 'connect=tcp:127.0.0.1:8080');
    const taken = await lxc('config', 'device', 'add', 'web3', 'two', 'proxy', `listen=tcp:127.0.0.1:${port}`, 'connect=tcp:127.0.0.1:8081');
    expect(taken.code).not.toBe(0);
    expect(taken.stderr).toContain(`Failed to start device "two": Cannot listen on tcp:127.0.0.1:${port}: the address is already in use`);
    const bad = await lxc('config', 'device', 'add', 'web3', 'three', 'proxy', 'listen=tcp:127.0.0.1:70000', 'connect=tcp:127.0.0.1:80');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('port 70000 is out of range 1-65535');
    const mixed = await lxc('config', 'device', 'add', 'web3', 'four', 'proxy', `listen=tcp:127.0.0.1:${port + 1}`, 'connect=udp:127.0.0.1:53');
    expect(mixed.code).not.toBe(0);
    expect(mixed.stderr).toContain('"listen" and "connect" must use the same protocol');
    const devices = await ok('config', 'device', 'list', 'web3');
    expect(devices.split('\n').filter(Boolean).sort()).toEqual(['one']);
    await ok('delete', '--force', 'web3');
  });
});

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EngineDaemon, startEngineDaemon } from '../engine-daemon';

describe('lodged with its engine', () => {
  let d: EngineDaemon;
  beforeAll(async () => {
    d = await startEngineDaemon('boot');
  });
  afterAll(() => d?.cleanup());

  it('creates the default pool on first start and answers on its socket', async () => {
    expect(existsSync(join(d.dir, 'storage-pools', 'default', 'containers'))).toBe(true);
    const res = await d.api('GET', '/1.0');
    expect(res.status).toBe(200);
    expect(res.json.metadata.api_version).toBe('1.0');
  });

  it('starts again on the same dir and database', async () => {
    await d.restart();
    expect((await d.api('GET', '/1.0')).status).toBe(200);
  });
});

import { infoTime, renderInfo } from './info-view';

describe('info text', () => {
  it('a running instance: state, resources and addresses', () => {
    const text = renderInfo({
      name: 'c1',
      status: 'Running',
      type: 'container',
      architecture: 'x86_64',
      created_at: '2026-05-01T12:34:56Z',
      last_used_at: '2026-05-02T08:05:00Z',
      state: {
        pid: 4242,
        processes: 3,
        cpu: { usage: 2_500_000_000 },
        memory: { usage: 1_500_000, usage_peak: 2_000_000 },
        network: { eth0: { type: 'broadcast', state: 'up', addresses: [{ family: 'inet', address: '10.0.0.2', netmask: '24', scope: 'global' }] } },
        disk: null,
      },
    });
    expect(text).toBe(
      [
        'Name: c1',
        'Status: RUNNING',
        'Type: container',
        'Architecture: x86_64',
        'PID: 4242',
        'Created: 2026/05/01 12:34 UTC',
        'Last Used: 2026/05/02 08:05 UTC',
        '',
        'Resources:',
        '  Processes: 3',
        '  CPU usage:',
        '    CPU usage (in seconds): 2',
        '  Memory usage:',
        '    Memory (current): 1.50MB',
        '    Memory (peak): 2.00MB',
        '  Network usage:',
        '    eth0:',
        '      Type: broadcast',
        '      State: UP',
        '      IP addresses:',
        '        inet:  10.0.0.2/24 (global)',
        '',
      ].join('\n'),
    );
  });

  it('a stopped, never used instance has no PID, no resources, no last use', () => {
    const text = renderInfo({ name: 'c2', status: 'Stopped', architecture: 'x86_64', created_at: '2026-05-01T00:00:00Z', last_used_at: '0001-01-01T00:00:00Z', ephemeral: true, state: { pid: -1, processes: 0 } });
    expect(text).toBe('Name: c2\nStatus: STOPPED\nType: container (ephemeral)\nArchitecture: x86_64\nCreated: 2026/05/01 00:00 UTC\n');
    expect(infoTime('0001-01-01T00:00:00Z')).toBe('');
  });
});

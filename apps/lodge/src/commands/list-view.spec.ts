import { addresses, FullInstance, listRow, matchesFilters } from './list-view';

const running: FullInstance = {
  name: 'web1',
  status: 'Running',
  type: 'container',
  expanded_config: { 'user.role': 'web', 'limits.cpu': '2' },
  snapshots: [{}, {}],
  state: {
    network: {
      lo: { addresses: [{ family: 'inet', address: '127.0.0.1', scope: 'local' }] },
      eth0: {
        addresses: [
          { family: 'inet', address: '10.0.3.5', scope: 'global' },
          { family: 'inet6', address: 'fd42::5', scope: 'global' },
          { family: 'inet6', address: 'fe80::1', scope: 'link' },
        ],
      },
      eth1: { addresses: [{ family: 'inet', address: '10.0.4.7', scope: 'global' }] },
    },
  },
};

describe('list rows', () => {
  it('shows global addresses per interface, loopback and link-local left out', () => {
    expect(addresses(running, 'inet')).toEqual(['10.0.4.7 (eth1)', '10.0.3.5 (eth0)']);
    expect(addresses(running, 'inet6')).toEqual(['fd42::5 (eth0)']);
  });

  it('NAME, STATE, IPV4, IPV6, TYPE, SNAPSHOTS', () => {
    expect(listRow(running)).toEqual(['web1', 'RUNNING', '10.0.4.7 (eth1)\n10.0.3.5 (eth0)', 'fd42::5 (eth0)', 'CONTAINER', '2']);
    expect(listRow({ name: 'e', status: 'Stopped', ephemeral: true, state: null, snapshots: null })).toEqual(['e', 'STOPPED', '', '', 'CONTAINER (EPHEMERAL)', '0']);
  });

  it('filters by name prefix, status, type and config, all of them', () => {
    expect(matchesFilters(running, [])).toBe(true);
    expect(matchesFilters(running, ['web'])).toBe(true);
    expect(matchesFilters(running, ['db'])).toBe(false);
    expect(matchesFilters(running, ['status=running', 'user.role=web'])).toBe(true);
    expect(matchesFilters(running, ['status=stopped'])).toBe(false);
    expect(matchesFilters(running, ['type=container', 'limits.cpu=4'])).toBe(false);
    expect(matchesFilters(running, ['name=web'])).toBe(false);
  });
});

import { rejection } from '../../../../libs/config/test/rejection';
import { parseNetworkPatch, parseNetworkPut, parseNetworkRename, parseNetworksPost } from './network-request';


describe('network request bodies', () => {
  it('POST: name, type (bridge by default), description and config; null maps are empty', () => {
    expect(parseNetworksPost({ name: 'lodgebr1', config: { 'ipv4.address': '10.1.2.1/24' } })).toEqual({
      name: 'lodgebr1',
      type: 'bridge',
      description: '',
      config: { 'ipv4.address': '10.1.2.1/24' },
    });
    expect(parseNetworksPost({ name: 'n', type: 'macvlan', description: 'd', config: null })).toEqual({ name: 'n', type: 'macvlan', description: 'd', config: {} });
  });
  it('POST: refuses a missing name, non-string values and non-objects', () => {
    expect(rejection(() => parseNetworksPost({ config: {} }))).toBe('No name provided');
    expect(rejection(() => parseNetworksPost({ name: 3 }))).toBe('Invalid network name: expected a string');
    expect(rejection(() => parseNetworksPost({ name: 'n', config: { mtu: 1500 } }))).toBe('Invalid config: expected an object of string keys and string values');
    expect(rejection(() => parseNetworksPost([]))).toBe('Invalid request body: expected a JSON object');
  });
  it('PUT replaces, PATCH merges config and keeps the description unless given', () => {
    const current = { config: { 'ipv4.address': '10.1.2.1/24', 'ipv4.nat': 'true' }, description: 'old' };
    expect(parseNetworkPut({ config: { 'ipv4.nat': 'false' } })).toEqual({ config: { 'ipv4.nat': 'false' }, description: '' });
    expect(parseNetworkPatch({ config: { 'ipv4.nat': 'false' } }, current)).toEqual({
      config: { 'ipv4.address': '10.1.2.1/24', 'ipv4.nat': 'false' },
      description: 'old',
    });
  });
  it('rename takes a name', () => {
    expect(parseNetworkRename({ name: 'br2' })).toBe('br2');
    expect(rejection(() => parseNetworkRename({}))).toBe('No name provided');
  });
});

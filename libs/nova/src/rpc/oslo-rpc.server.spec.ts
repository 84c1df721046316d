import { heartbeatIntervalMs } from './oslo-rpc.server';

describe('call-monitor heartbeat interval (from the caller-set _timeout)', () => {
  it('is half of the whole seconds, as oslo computes it', () => {
    expect(heartbeatIntervalMs(60)).toBe(30_000);
    expect(heartbeatIntervalMs(3.9)).toBe(1_500);
    expect(heartbeatIntervalMs('10')).toBe(5_000);
  });

  it('is none for what oslo ignores: missing, not a number, under a second between beats', () => {
    for (const t of [undefined, null, 'soon', true, {}, 0, -5, 1, 1.99, 0.001, NaN]) expect(heartbeatIntervalMs(t)).toBeNull();
  });

  it('is none for a timeout beyond what a timer can wait (it would fire every millisecond)', () => {
    expect(heartbeatIntervalMs(1e20)).toBeNull();
    expect(heartbeatIntervalMs(Infinity)).toBeNull();
  });
});

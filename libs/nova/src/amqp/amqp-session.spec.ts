import type { ConfirmChannel } from 'amqplib';
import { markReturned } from './amqp-session';

describe('markReturned (which mandatory publish a basic.return is about)', () => {
  const chA = {} as ConfirmChannel;
  const chB = {} as ConfirmChannel;
  const pub = (channel: ConfirmChannel, routingKey: string, body: string) => ({ channel, exchange: 'nova', routingKey, body: Buffer.from(body), returned: false });
  const ret = (routingKey: string, body: string) => ({ fields: { exchange: 'nova', routingKey }, content: Buffer.from(body) });

  it('marks the publish with the same channel, exchange, routing key and body', () => {
    const a = pub(chA, 'conductor', '{"x":1}');
    const b = pub(chA, 'conductor', '{"x":2}');
    markReturned([a, b], chA, ret('conductor', '{"x":2}'));
    expect([a.returned, b.returned]).toEqual([false, true]);
  });

  it('leaves publishes on another channel or to another routing key alone', () => {
    const other = pub(chB, 'conductor', 'm');
    const elsewhere = pub(chA, 'compute', 'm');
    markReturned([other, elsewhere], chA, ret('conductor', 'm'));
    expect([other.returned, elsewhere.returned]).toEqual([false, false]);
  });

  it('marks one of two identical publishes per return', () => {
    const a = pub(chA, 'q', 'same');
    const b = pub(chA, 'q', 'same');
    markReturned([a, b], chA, ret('q', 'same'));
    expect([a.returned, b.returned]).toEqual([true, false]);
    markReturned([a, b], chA, ret('q', 'same'));
    expect([a.returned, b.returned]).toEqual([true, true]);
  });
});

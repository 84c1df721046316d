import { Logger } from '@nestjs/common';
import { CustomTransportStrategy, Server } from '@nestjs/microservices';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { lastValueFrom, defaultIfEmpty } from 'rxjs';
import type { AmqpSession } from '../amqp/amqp-session';
import { toRemoteFailure } from '../errors/remote-failure';
import { decodeEnvelope, encodeEnvelope, newMessageId, RecentIds } from '../oslo/envelope';
import { contextFromMessage } from '../oslo/request-context';
import { OsloMethodBinding, OsloTarget, resolveBinding } from './oslo-dispatcher';
import { OSLO_EXTRAS_KEY, OsloMethodMeta } from './oslo-method.decorator';
import type { OsloRequest } from './oslo-request';

export interface OsloRpcServerOptions {
  session: AmqpSession;
  /** oslo's control_exchange: `nova`. */
  exchange: string;
  /** `compute`: the server consumes `compute` and `compute.<server>` and the fanout. */
  topic: string;
  server: string;
  /** The endpoints' targets (namespace and the highest version each implements). */
  endpoints: OsloTarget[];
  /** Bodies larger than this are dropped unread (a logged drop). */
  maxBodyBytes?: number;
}

type Handler = (data: OsloRequest, ctx?: unknown) => Promise<unknown>;

/** The flags oslo declares with (amqp_durable_queues=False, amqp_auto_delete=False). */
const TOPIC_EXCHANGE = { durable: false, autoDelete: false } as const;
const TOPIC_QUEUE = { durable: false, autoDelete: false } as const;
const FANOUT_EXCHANGE = { durable: false, autoDelete: true } as const;
/** rabbit_transient_queues_ttl = 1800 s. */
const TRANSIENT_QUEUE = { durable: false, autoDelete: false, arguments: { 'x-expires': 1800000 } } as const;

/**
 * An oslo.messaging RPC server as a NestJS transport: the queues and flags oslo's rabbit driver
 * declares, its envelope, its dispatch rules, replies on the default exchange to `_reply_q`,
 * call-monitor heartbeats, and failures nova re-raises as its own exception classes. Messages are
 * acked on receipt and dispatched concurrently, as oslo does.
 */
export class OsloRpcServer extends Server implements CustomTransportStrategy {
  protected override readonly logger = new Logger('OsloRpcServer');
  private readonly recent = new RecentIds();
  private readonly fanoutQueue: string;
  private bindings: OsloMethodBinding<Handler>[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private channel: Channel | null = null;
  private closing = false;
  private readonly setup = (model: ChannelModel) => this.declareAndConsume(model);

  constructor(private readonly options: OsloRpcServerOptions) {
    super();
    this.fanoutQueue = `${options.topic}_fanout_${newMessageId()}`;
  }

  get queues(): string[] {
    return [this.options.topic, `${this.options.topic}.${this.options.server}`, this.fanoutQueue];
  }

  async listen(callback: (err?: unknown) => void): Promise<void> {
    try {
      this.bindings = this.collectBindings();
      await this.options.session.addTopology(this.setup);
      callback();
    } catch (err) {
      callback(err);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.options.session.removeTopology(this.setup);
    const ch = this.channel;
    this.channel = null;
    if (ch) {
      // oslo deletes its fanout queue on a clean stop; the topic queues stay for the next run.
      await ch.deleteQueue(this.fanoutQueue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
    await Promise.allSettled([...this.inFlight]);
  }

  on(): never {
    throw new Error('OsloRpcServer has no events');
  }

  unwrap<T>(): T {
    return this.channel as T;
  }

  private collectBindings(): OsloMethodBinding<Handler>[] {
    const out: OsloMethodBinding<Handler>[] = [];
    for (const [pattern, handler] of this.messageHandlers) {
      const meta = handler.extras?.[OSLO_EXTRAS_KEY] as OsloMethodMeta | undefined;
      if (!meta) continue;
      const target = this.options.endpoints.find((t) => t.namespace === meta.namespace);
      if (!target) throw new Error(`handler ${pattern}: no endpoint for namespace ${String(meta.namespace)}`);
      out.push({ target, method: meta.method, args: meta.args, handler: handler as Handler });
    }
    return out;
  }

  private async declareAndConsume(model: ChannelModel): Promise<void> {
    const { exchange, topic, server } = this.options;
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.logger.warn(`channel error: ${err.message}`));
    await ch.assertExchange(exchange, 'topic', TOPIC_EXCHANGE);
    for (const q of [topic, `${topic}.${server}`]) {
      await ch.assertQueue(q, TOPIC_QUEUE);
      await ch.bindQueue(q, exchange, q);
    }
    await ch.assertExchange(`${topic}_fanout`, 'fanout', FANOUT_EXCHANGE);
    await ch.assertQueue(this.fanoutQueue, TRANSIENT_QUEUE);
    await ch.bindQueue(this.fanoutQueue, `${topic}_fanout`, topic);
    for (const q of this.queues) {
      await ch.consume(q, (msg) => msg && this.onDelivery(ch, msg), { noAck: false });
    }
    this.channel = ch;
  }

  private onDelivery(ch: Channel, msg: ConsumeMessage): void {
    // oslo acks before dispatch: a crash mid-operation loses the request, never repeats it.
    try {
      ch.ack(msg);
    } catch {
      /* channel gone: the message was delivered, nothing to ack */
    }
    if (this.closing) return;
    const work = this.process(msg).catch((err) => this.logger.error(`message processing failed: ${(err as Error).stack ?? err}`));
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async process(msg: ConsumeMessage): Promise<void> {
    const limit = this.options.maxBodyBytes ?? 16 * 1024 * 1024;
    if (msg.content.length > limit) {
      this.logger.warn(`dropped a ${msg.content.length}-byte message on ${msg.fields.routingKey}: over the ${limit}-byte limit`);
      return;
    }
    let message: Record<string, unknown>;
    try {
      message = decodeEnvelope(msg.content);
    } catch (err) {
      this.logger.warn(`dropped an unreadable message on ${msg.fields.routingKey}: ${(err as Error).message}`);
      return;
    }
    if (this.recent.seen(message._unique_id)) {
      this.logger.warn(`dropped a duplicate message ${String(message._unique_id)}`);
      return;
    }
    const msgId = message._msg_id;
    const replyTo = message._reply_q;
    const isCall = typeof msgId === 'string' && typeof replyTo === 'string';
    if (msgId !== undefined && !isCall) {
      this.logger.warn(`dropped a call without a usable _msg_id/_reply_q (method ${String(message.method)})`);
      return;
    }
    const reply = isCall ? (body: Record<string, unknown>) => this.reply(replyTo as string, msgId as string, body) : undefined;

    let heartbeat: NodeJS.Timeout | undefined;
    try {
      const { binding, args } = resolveBinding(this.options.endpoints, this.bindings, {
        method: message.method,
        namespace: message.namespace,
        version: message.version,
        args: message.args,
      });
      const interval = heartbeatIntervalMs(message._timeout);
      if (reply && interval !== null) {
        heartbeat = setInterval(() => void reply({ result: null, failure: null, ending: false }), interval);
      }
      const request: OsloRequest = { context: contextFromMessage(message), args, method: binding.method, isCall };
      const result = await lastValueFrom(this.transformToObservable(await binding.handler(request)).pipe(defaultIfEmpty(null)));
      if (heartbeat) clearInterval(heartbeat);
      if (reply) await reply({ result: result === undefined ? null : result, failure: null, ending: true });
    } catch (err) {
      if (heartbeat) clearInterval(heartbeat);
      const failure = toRemoteFailure(err);
      if (reply) {
        await reply({ result: null, failure: JSON.stringify(failure), ending: true });
      } else {
        this.logger.warn(`cast ${String(message.method)} failed: ${failure.module}.${failure.class}: ${failure.message}`);
      }
    }
  }

  private async reply(replyTo: string, msgId: string, body: Record<string, unknown>): Promise<void> {
    const message = { ...body, _msg_id: msgId, _unique_id: newMessageId() };
    // A final reply waits up to 60 s for the caller's reply queue, as oslo's does
    // (kombu_missing_consumer_retry_timeout): after a broker restart the caller may re-declare
    // it later than this host reconnects. A call-monitor heartbeat is not retried.
    const final = body.ending !== false;
    try {
      await this.options.session.publish('', replyTo, encodeEnvelope(message), { mandatory: true }, REPLY_RETRY_MS, {
        untilRouted: final,
        giveUp: () => this.closing,
      });
    } catch (err) {
      this.logger.warn(`reply to ${replyTo} lost: ${(err as Error).message}`);
    }
  }
}

/** oslo's kombu_missing_consumer_retry_timeout. */
const REPLY_RETRY_MS = 60_000;

/** The longest delay a Node timer takes; a longer one fires after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * oslo's call-monitor interval: half of int(_timeout) seconds, and none when that is under a
 * second. The caller sets `_timeout`, so it is checked: a tiny or fractional one would make the
 * server flood the reply queue, and one beyond a timer's range would fire every millisecond.
 */
export function heartbeatIntervalMs(timeout: unknown): number | null {
  // Python's int() also takes a string of digits
  const seconds = typeof timeout === 'string' && /^\s*[+-]?\d+\s*$/.test(timeout) ? Number(timeout) : timeout;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return null;
  const ms = (Math.trunc(seconds) / 2) * 1000;
  if (ms < 1000 || ms > MAX_TIMER_MS) return null;
  return ms;
}

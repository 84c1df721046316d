import { Logger } from '@nestjs/common';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { AmqpSession } from '../amqp/amqp-session';
import { MessagingTimeout, RemoteCallError, RemoteFailure } from '../errors/remote-failure';
import { decodeEnvelope, encodeEnvelope, newMessageId } from '../oslo/envelope';
import { contextToMessage, RequestContext } from '../oslo/request-context';

export interface OsloCallTarget {
  topic: string;
  /** Routes to `<topic>.<server>`; without it the message goes to the shared topic queue. */
  server?: string;
  namespace?: string;
  version: string;
}

export interface CallOptions {
  /** Seconds to wait for the reply (oslo's rpc_response_timeout, 60 by default). */
  timeout?: number;
  /**
   * Send the call again (same `_msg_id`) when the connection was lost after it was sent and
   * before its reply came. A broker that restarted lost the request if it still sat in the
   * callee's queue; if the callee had already taken it, its reply still comes (oslo retries a
   * reply until the reply queue, re-declared under the same name, is back) and the callee
   * runs the second copy too (oslo's RPC servers do not drop duplicates). So: for calls that
   * are safe to run twice, or whose caller recognises the second copy's failure (see
   * RemoteCallError.afterResend). oslo itself never re-sends: the call times out.
   */
  resendOnReconnect?: boolean;
}

interface PendingCall {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
  /** the reply-queue generation the request was confirmed on; null while it is being published */
  sentOn: number | null;
  resend?: () => void;
  resent: boolean;
}

/**
 * oslo's RPC client: casts and calls to `<exchange>` with the 2.0 envelope and the flattened
 * context; calls carry `_msg_id`, `_reply_q` and `_timeout` and wait on one reply queue per
 * client (`reply_<hex>`, re-declared after a reconnect). Heartbeats (ending: false) are
 * accepted; a failure comes back as RemoteCallError with the remote class and module.
 */
export class OsloRpcClient {
  private readonly logger = new Logger('OsloRpcClient');
  readonly replyQueue = `reply_${newMessageId()}`;
  private readonly pending = new Map<string, PendingCall>();
  private generation = 0;
  private channel: Channel | null = null;
  private readonly setup = (model: ChannelModel) => this.declareReplyQueue(model);

  constructor(
    private readonly session: AmqpSession,
    private readonly exchange: string,
    private readonly defaultTimeout = 60,
  ) {}

  async start(): Promise<void> {
    await this.session.addTopology(this.setup);
  }

  async close(): Promise<void> {
    this.session.removeTopology(this.setup);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new Error('RPC client closed'));
      this.pending.delete(id);
    }
    const ch = this.channel;
    this.channel = null;
    if (ch) {
      await ch.deleteQueue(this.replyQueue).catch(() => undefined);
      await ch.close().catch(() => undefined);
    }
  }

  async cast(ctx: RequestContext, target: OsloCallTarget, method: string, args: Record<string, unknown>): Promise<void> {
    // until routed, as calls are: a cast right after a broker restart waits for the callee's queue
    await this.session.publish(this.exchange, routingKey(target), encodeEnvelope(this.message(ctx, target, method, args)), {}, undefined, { untilRouted: true });
  }

  call(ctx: RequestContext, target: OsloCallTarget, method: string, args: Record<string, unknown>, o: CallOptions = {}): Promise<unknown> {
    const timeout = o.timeout ?? this.defaultTimeout;
    const deadline = Date.now() + timeout * 1000;
    return new Promise<unknown>((resolve, reject) => {
      const msgId = newMessageId();
      const body = encodeEnvelope({ ...this.message(ctx, target, method, args), _msg_id: msgId, _reply_q: this.replyQueue, _timeout: null });
      const send = () => {
        const p = this.pending.get(msgId);
        if (!p) return;
        p.sentOn = null;
        const startedOn = this.generation;
        // Until routed: right after a broker restart the callee may not have re-declared its
        // queue yet; the request waits for it (within the call's timeout) instead of vanishing.
        this.session
          .publish(this.exchange, routingKey(target), body, { expiration: String(Math.round(timeout * 1000)) }, Math.max(0, deadline - Date.now()), { untilRouted: true })
          .then(
            () => {
              if (this.pending.get(msgId) !== p) return;
              p.sentOn = this.generation;
              // A publish that spanned a reconnect may have reached the old broker as well.
              if (this.generation !== startedOn) p.resent = true;
            },
            (err: Error) => this.settle(msgId, undefined, err),
          );
      };
      const timer = setTimeout(
        () => this.settle(msgId, undefined, new MessagingTimeout(`Timed out waiting for a reply to message ID ${msgId} (${method} on ${routingKey(target)})`)),
        timeout * 1000,
      );
      this.pending.set(msgId, { resolve, reject, timer, sentOn: null, resend: o.resendOnReconnect ? send : undefined, resent: false });
      send();
    });
  }

  private message(ctx: RequestContext, target: OsloCallTarget, method: string, args: Record<string, unknown>): Record<string, unknown> {
    const m: Record<string, unknown> = { method, args, version: target.version };
    if (target.namespace) m.namespace = target.namespace;
    m._unique_id = newMessageId();
    return { ...m, ...contextToMessage(ctx) };
  }

  private async declareReplyQueue(model: ChannelModel): Promise<void> {
    const ch = await model.createChannel();
    ch.on('error', (err: Error) => this.logger.warn(`reply channel error: ${err.message}`));
    await ch.assertExchange(this.exchange, 'topic', { durable: false, autoDelete: false });
    await ch.assertQueue(this.replyQueue, { durable: false, autoDelete: false, arguments: { 'x-expires': 1800000 } });
    await ch.consume(this.replyQueue, (msg) => msg && this.onReply(ch, msg), { noAck: false });
    this.channel = ch;
    const reconnected = this.generation++ > 0;
    if (reconnected) {
      // Only requests confirmed on an earlier connection: one still being published goes out
      // on this connection by itself, and must not go twice.
      for (const p of this.pending.values()) {
        if (p.resend && p.sentOn !== null && p.sentOn < this.generation) {
          p.resent = true;
          p.resend();
        }
      }
    }
  }

  private onReply(ch: Channel, msg: ConsumeMessage): void {
    try {
      ch.ack(msg);
    } catch {
      /* channel closed under us */
    }
    let m: Record<string, unknown>;
    try {
      m = decodeEnvelope(msg.content);
    } catch (err) {
      this.logger.warn(`dropped an unreadable reply: ${(err as Error).message}`);
      return;
    }
    const id = m._msg_id;
    if (typeof id !== 'string' || !this.pending.has(id)) return;
    if (m.failure) {
      let failure: Partial<RemoteFailure>;
      try {
        failure = JSON.parse(String(m.failure)) as Partial<RemoteFailure>;
      } catch {
        failure = { class: 'RemoteError', module: 'oslo_messaging', message: String(m.failure) };
      }
      const err = new RemoteCallError(failure);
      err.afterResend = this.pending.get(id)!.resent;
      this.settle(id, undefined, err);
      return;
    }
    if (m.ending === false && m.result === null) {
      // call-monitor heartbeat: the callee is still working.
      return;
    }
    this.settle(id, m.result ?? null);
  }

  private settle(id: string, result: unknown, err?: Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(result);
  }
}

function routingKey(t: OsloCallTarget): string {
  return t.server ? `${t.topic}.${t.server}` : t.topic;
}

import { connect, type ChannelModel, type ConfirmChannel, type Options, type RecoveringChannelModel } from 'amqplib';

/** What a user of the session declares and consumes; run again after every reconnect. */
export type TopologySetup = (model: ChannelModel) => Promise<void>;

export interface AmqpLogger {
  log(message: string): void;
  warn(message: string): void;
}

export interface AmqpSessionOptions {
  /** `rabbit://user:pass@host:port/vhost` (oslo's transport URL) or `amqp://…`. */
  url: string;
  /** Shown in RabbitMQ's connection list (oslo sets `connection_name` too). */
  connectionName: string;
  logger: AmqpLogger;
  /** Give up on the first connection after this many attempts (later outages retry forever). */
  initialRetries?: number;
}

/** The publish properties oslo's kombu producer sets on every message. */
export const OSLO_PUBLISH_PROPERTIES: Options.Publish = {
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  deliveryMode: 2,
  priority: 0,
  headers: {},
};

/** A mandatory publish the broker returned: no queue is bound for its routing key (yet). */
export class UnroutableError extends Error {
  override readonly name = 'UnroutableError';
}

export interface PublishOptions {
  /**
   * Publish as mandatory and, while the broker returns it as unroutable, publish it again every
   * 250 ms until the deadline. After a broker restart every client re-declares its own queues
   * when it gets back, in no particular order: a request to the conductor or a reply to a caller
   * sent before the other side re-declared its queue would otherwise vanish. (oslo does this for
   * replies: kombu_missing_consumer_retry_timeout.)
   */
  untilRouted?: boolean;
  /** Stops publishing again (e.g. the server is closing): the UnroutableError is thrown. */
  giveUp?: () => boolean;
}

/** A mandatory publish waiting for its confirm; a basic.return for it comes before the ack. */
interface MandatoryPublish {
  channel: ConfirmChannel;
  exchange: string;
  routingKey: string;
  body: Buffer;
  returned: boolean;
}

/**
 * One AMQP connection that comes back by itself: when RabbitMQ goes away, amqplib reconnects
 * with backoff and every registered topology setup runs again on the new connection (queues
 * re-declared, consumers re-attached). Publishes wait for the connection and use publisher
 * confirms, as oslo does, so a publish that resolved reached the broker.
 */
export class AmqpSession {
  private model: ChannelModel | null = null;
  private publisher: Promise<ConfirmChannel> | null = null;
  private readonly setups: TopologySetup[] = [];
  private readonly waiters: Array<() => void> = [];
  private readonly mandatory = new Set<MandatoryPublish>();
  private closed = false;

  private constructor(
    private readonly options: AmqpSessionOptions,
    private readonly recovering: RecoveringChannelModel,
  ) {}

  static async open(options: AmqpSessionOptions): Promise<AmqpSession> {
    let session: AmqpSession | undefined;
    const recovering = await connect(toAmqpUrl(options.url), {
      heartbeat: 60,
      // amqplib leaves Nagle on: a publish is several frames, and the second write then waits
      // for the broker's delayed ACK (40 ms on Linux) -- each conductor round trip cost ~45 ms.
      noDelay: true,
      clientProperties: {
        connection_name: options.connectionName,
        capabilities: { authentication_failure_close: true, 'connection.blocked': true, consumer_cancel_notify: true },
      },
      recovery: {
        initialDelay: 200,
        maxDelay: 5000,
        initialMaxRetries: options.initialRetries ?? 5,
        maxRetries: Infinity,
        waitForConnect: false,
        setup: (model: ChannelModel) => session!.connected(model),
      },
    } as Options.Connect & { recovery: object });
    session = new AmqpSession(options, recovering);
    recovering.on('disconnect', (err: Error) => session!.disconnected(err));
    recovering.on('error', (err: Error) => options.logger.warn(`amqp: ${err.message}`));
    await recovering.waitForConnect();
    return session;
  }

  /** Registers a setup; it runs now when connected and again after every reconnect. */
  async addTopology(setup: TopologySetup): Promise<void> {
    this.setups.push(setup);
    if (this.model) await setup(this.model);
  }

  removeTopology(setup: TopologySetup): void {
    const i = this.setups.indexOf(setup);
    if (i >= 0) this.setups.splice(i, 1);
  }

  get isConnected(): boolean {
    return this.model !== null;
  }

  /**
   * Publishes with a broker confirm. While disconnected it waits for the reconnect (up to
   * `waitMs`); a publish cut by a connection loss is tried again on the next connection. A
   * mandatory publish the broker returns rejects with UnroutableError (or, with `untilRouted`,
   * is published again until it routes or the deadline passes).
   */
  async publish(exchange: string, routingKey: string, body: Buffer, props: Options.Publish = {}, waitMs = 30000, o: PublishOptions = {}): Promise<void> {
    const deadline = Date.now() + waitMs;
    const mandatory = props.mandatory === true || o.untilRouted === true;
    for (;;) {
      if (this.closed) throw new Error('AMQP session closed');
      try {
        const ch = await this.publishChannel(deadline);
        const entry: MandatoryPublish | undefined = mandatory ? { channel: ch, exchange, routingKey, body, returned: false } : undefined;
        if (entry) this.mandatory.add(entry);
        try {
          await new Promise<void>((resolve, reject) => {
            ch.publish(exchange, routingKey, body, { ...OSLO_PUBLISH_PROPERTIES, ...props, mandatory }, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
          });
        } finally {
          if (entry) this.mandatory.delete(entry);
        }
        if (entry?.returned) throw new UnroutableError(`no queue for ${routingKey} on exchange '${exchange}'`);
        return;
      } catch (err) {
        if (err instanceof UnroutableError) {
          if (!o.untilRouted || o.giveUp?.() || this.closed || Date.now() + 250 >= deadline) throw err;
          await sleep(250);
          continue;
        }
        if (this.closed || Date.now() >= deadline) throw err;
        // The channel or connection went away under the publish: wait for the next one.
        this.publisher = null;
        await sleep(100);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w();
    await this.recovering.close().catch(() => undefined);
    this.model = null;
    this.publisher = null;
  }

  private async connected(model: ChannelModel): Promise<void> {
    for (const setup of this.setups) await setup(model);
    this.model = model;
    this.publisher = null;
    this.options.logger.log(`amqp: connected to ${redact(this.options.url)}`);
    for (const w of this.waiters.splice(0)) w();
  }

  private disconnected(err: Error | undefined): void {
    if (this.closed) return;
    this.model = null;
    this.publisher = null;
    this.options.logger.warn(`amqp: connection lost (${err?.message ?? 'closed'}); reconnecting`);
  }

  private returned(ch: ConfirmChannel, msg: { fields: { exchange: string; routingKey: string }; content: Buffer }): void {
    markReturned(this.mandatory, ch, msg);
  }

  private async publishChannel(deadline: number): Promise<ConfirmChannel> {
    while (!this.model) {
      if (this.closed) throw new Error('AMQP session closed');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('AMQP broker unreachable');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const model = this.model;
    if (!this.publisher) {
      const opening = model.createConfirmChannel();
      this.publisher = opening;
      opening.then(
        (ch) => {
          ch.on('error', () => undefined);
          ch.on('return', (msg: { fields: { exchange: string; routingKey: string }; content: Buffer }) => this.returned(ch, msg));
          ch.on('close', () => {
            if (this.publisher === opening) this.publisher = null;
          });
        },
        () => {
          if (this.publisher === opening) this.publisher = null;
        },
      );
    }
    return this.publisher;
  }
}

/**
 * Marks the mandatory publish a basic.return is about. RabbitMQ sends the return before the
 * confirm of the same publish on the same channel, so the confirm callback sees the mark.
 */
export function markReturned(pending: Iterable<MandatoryPublish>, ch: ConfirmChannel, msg: { fields: { exchange: string; routingKey: string }; content: Buffer }): void {
  for (const p of pending) {
    if (!p.returned && p.channel === ch && p.exchange === msg.fields.exchange && p.routingKey === msg.fields.routingKey && p.body.equals(msg.content)) {
      p.returned = true;
      return;
    }
  }
}

/** oslo's `rabbit://` transport URL as amqplib's `amqp://`; a vhost path is kept (url-encoded). */
export function toAmqpUrl(url: string): string {
  const u = new URL(url.replace(/^rabbit:/, 'amqp:'));
  if (u.protocol !== 'amqp:' && u.protocol !== 'amqps:') throw new Error(`unsupported AMQP URL scheme ${u.protocol}`);
  // oslo allows several comma-separated hosts; amqplib takes one: the first is used.
  return u.toString();
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

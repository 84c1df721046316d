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
   * `waitMs`); a publish cut by a connection loss is tried again on the next connection.
   */
  async publish(exchange: string, routingKey: string, body: Buffer, props: Options.Publish = {}, waitMs = 30000): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (this.closed) throw new Error('AMQP session closed');
      try {
        const ch = await this.publishChannel(deadline);
        await new Promise<void>((resolve, reject) => {
          ch.publish(exchange, routingKey, body, { ...OSLO_PUBLISH_PROPERTIES, ...props }, (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
        });
        return;
      } catch (err) {
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

import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import { signalSchema, type Signal } from '../datacenters/index.js';

/** A signal from another instance, and whether that instance had it from another datacenter. */
export type SignalListener = (signal: Signal, fromAnotherDc: boolean) => void;

const envelope = z.object({ from: z.string(), fromAnotherDc: z.boolean(), signal: signalSchema });

/**
 * Typing and presence between the instances of one datacenter, over Redis pub/sub: what one
 * instance's sockets say (or what another DC relayed to it) is published, and every other instance
 * passes it to the sockets it holds. The same shape as Signals between datacenters, and as ephemeral:
 * a signal published while Redis is away is dropped, never queued, since a late typing or presence
 * frame is worse than none. Without Redis (one instance) relaying does nothing.
 */
export class InstanceBus {
  private readonly listeners: SignalListener[] = [];

  private constructor(
    private readonly redis: { publisher: Redis; subscriber: Redis; channel: string } | null,
    private readonly instance: string,
    private readonly logger: Logger,
  ) {}

  static alone(logger: Logger): InstanceBus {
    return new InstanceBus(null, '', logger);
  }

  /**
   * Subscribes on a connection of its own (a subscribing connection can do nothing else). It queues
   * the subscription while Redis is away, and ioredis subscribes again after every reconnect.
   */
  static overRedis(publisher: Redis, keyPrefix: string, instance: string, logger: Logger): InstanceBus {
    // Channels are not keys: ioredis does not prefix them, so the prefix is written out.
    const channel = `${keyPrefix}instances:signals`;
    const subscriber = publisher.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => {}); // the publisher's connection already tells of an outage
    const bus = new InstanceBus({ publisher, subscriber, channel }, instance, logger);
    subscriber.on('message', (_channel: string, message: string) => bus.received(message));
    subscriber.subscribe(channel).catch((err) => logger.warn({ err }, 'could not subscribe to the other instances’ signals'));
    return bus;
  }

  relay(signal: Signal, fromAnotherDc = false): void {
    if (!this.redis) return;
    const message = JSON.stringify({ from: this.instance, fromAnotherDc, signal });
    this.redis.publisher.publish(this.redis.channel, message).catch((err) => this.logger.debug({ err, signal: signal.kind }, 'signal not published to the other instances'));
  }

  onSignal(listener: SignalListener): void {
    this.listeners.push(listener);
  }

  close(): void {
    this.redis?.subscriber.disconnect();
  }

  private received(message: string): void {
    let parsed: z.infer<typeof envelope>;
    try {
      parsed = envelope.parse(JSON.parse(message));
    } catch (err) {
      return this.logger.warn({ err }, 'ignored a malformed signal from another instance');
    }
    if (parsed.from === this.instance) return;
    for (const listener of this.listeners) listener(parsed.signal, parsed.fromAnotherDc);
  }
}

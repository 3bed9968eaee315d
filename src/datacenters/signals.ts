import type { Logger } from 'pino';
import type { PeerLink, Signal } from './peerLink.js';

/**
 * Typing and presence between datacenters, over the internal link: what a DC's sockets say is relayed
 * to every other DC, which passes it to the sockets it holds. Signals are ephemeral: one that cannot
 * be delivered is dropped (and logged at debug), never retried, since a late typing or presence frame
 * is worse than none.
 */
export class Signals {
  private readonly listeners: ((signal: Signal) => void)[] = [];

  constructor(
    private readonly link: Pick<PeerLink, 'signal'> | null,
    private readonly peers: readonly string[],
    private readonly logger: Logger,
  ) {}

  relay(signal: Signal): void {
    if (!this.link) return;
    for (const dc of this.peers) {
      this.link.signal(dc, signal).catch((err) => this.logger.debug({ err, dc, signal: signal.kind }, 'signal not delivered to another datacenter'));
    }
  }

  /** A signal from another DC. */
  received(signal: Signal): void {
    for (const listener of this.listeners) listener(signal);
  }

  onSignal(listener: (signal: Signal) => void): void {
    this.listeners.push(listener);
  }
}

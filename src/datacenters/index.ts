import type { Router } from 'express';
import type { Logger } from 'pino';
import type { RemoteExecution } from '../commands/commandHandler.js';
import type { Config } from '../config.js';
import type { EventStore } from '../eventstore/port.js';
import type { Metrics } from '../observability/metrics.js';
import { forwardingEventStore } from './forwardingEventStore.js';
import { Homes } from './homes.js';
import { internalRoutes, type InternalRouteDeps } from './internalRoutes.js';
import { remoteCommands } from './remoteCommands.js';
import { PeerLink } from './peerLink.js';
import { Signals } from './signals.js';
import { StreamCopier } from './streamCopier.js';
import { Topology } from './topology.js';
import type { KeyPeers } from '../privacy/userKeys.js';
import type { StoredKey } from '../privacy/keyStore.js';

export { Homes } from './homes.js';
export { signalSchema, wrongDc, type Signal } from './peerLink.js';
export { Signals } from './signals.js';
export { StreamCopier } from './streamCopier.js';
export { Topology } from './topology.js';

export interface Datacenters {
  topology: Topology;
  homes: Homes;
  /** What commands write through: the local store, which forwards appends to streams homed elsewhere. */
  commandStore: EventStore;
  signals: Signals;
  /** With other datacenters: copies their events here, sends them commands, and serves their requests. */
  linked: {
    copier: StreamCopier;
    remote: RemoteExecution;
    /** The other datacenters' copies of users' keys. */
    keyPeers: KeyPeers;
    internalRoutes(deps: Pick<InternalRouteDeps, 'executeHere' | 'storedKey'>): Router;
  } | null;
}

/**
 * What the other datacenters hold for a user's key: an erase anywhere wins, then a key; "none" only
 * when every one of them answered so, because a key made here while one is out of reach could
 * differ from the one it has.
 */
async function keyFromPeers(link: PeerLink, peers: string[], userId: string): Promise<StoredKey> {
  const answers = await Promise.allSettled(peers.map((dc) => link.key(dc, userId)));
  const found = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  const erased = found.find((k) => k.state === 'erased');
  if (erased) return erased;
  const live = found.find((k) => k.state === 'live');
  if (live) return live;
  const failed = answers.find((a) => a.status === 'rejected');
  if (failed) throw failed.reason;
  return { state: 'none' };
}

/** This datacenter among the others configured (DC_PEERS); alone, every stream is homed here. */
export function connectDatacenters(config: Config, store: EventStore, metrics: Metrics, logger: Logger): Datacenters {
  const topology = new Topology(config.DC_ID, config.DC_PEERS, config.DC_PUBLIC_URLS);
  const homes = new Homes(store, topology);
  if (!topology.multiple) return { topology, homes, commandStore: store, signals: new Signals(null, [], logger), linked: null };
  // loadConfig requires DC_LINK_SECRET with DC_PEERS.
  const link = new PeerLink(config.DC_ID, config.DC_PEERS, config.DC_LINK_SECRET!, config.DC_FORWARD_TIMEOUT_MS);
  const copier = new StreamCopier(store, link);
  const signals = new Signals(link, [...config.DC_PEERS.keys()], logger);
  const outcomes = { forwarded: (outcome: string) => metrics.forwardedCommands.inc({ outcome }) };
  const commandStore = forwardingEventStore(store, { homes, link, copier, outcomes });
  const remote = remoteCommands({ homes, link, copier, outcomes });
  const routes = (deps: Pick<InternalRouteDeps, 'executeHere' | 'storedKey'>) =>
    internalRoutes({ secret: config.DC_LINK_SECRET!, homes, store, ...deps, onSignal: (signal) => signals.received(signal) });
  const keyPeers = { find: (userId: string) => keyFromPeers(link, [...config.DC_PEERS.keys()], userId) };
  return { topology, homes, commandStore, signals, linked: { copier, remote, keyPeers, internalRoutes: routes } };
}

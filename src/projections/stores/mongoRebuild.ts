import { MongoServerError, type Db } from 'mongodb';
import type { Logger } from 'pino';
import { LEASE_TTL_MS, newHolderId, Singleton, type LeaseStore } from '../../lease/index.js';
import type { ProjectionName } from '../projectors.js';
import { RebuildRunning, type RebuildTarget, type ShadowBuild } from '../rebuild.js';
import { PROJECTIONS_LEASE } from '../runner.js';
import { collectionsOfProjection, collectionsWithSuffix, liveCollections, type MongoReadStore } from './mongo.js';

const SHADOW = '__shadow';
const RETIRED = '__retired';
const shadowCollections = collectionsWithSuffix(SHADOW);
/** Held by a running rebuild: a second one is refused, one that was killed lets go when it expires. */
const REBUILD_LEASE = 'rebuild';

/**
 * Rebuilds in MongoDB: shadow collections next to the live ones, then a swap under the projections
 * lease. The swap seizes that lease, so the server's projections stop at their next renewal and
 * any batch they still try is refused by its fencing token; the shadow copies then catch up with
 * the head, are renamed over the live collections (renameCollection with dropTarget) and the live
 * checkpoints move to theirs; releasing the lease lets the server project again from there.
 * MongoDB renames one collection at a time: for the moment of the swap a reader may see a new
 * collection next to an old one, each whole.
 */
export class MongoRebuildTarget implements RebuildTarget {
  private readonly holder = newHolderId();

  constructor(
    private readonly live: MongoReadStore,
    private readonly leases: LeaseStore,
    private readonly logger: Logger,
  ) {}

  async begin(projections: ProjectionName[]): Promise<ShadowBuild> {
    const lock = await this.keepLease(REBUILD_LEASE);
    if (!lock.token) {
      await lock.stop();
      const holder = await this.leases.read(REBUILD_LEASE);
      throw new RebuildRunning(`another rebuild (${holder?.holder}, lease until ${new Date(holder?.expiresAt ?? 0).toISOString()}) is running`);
    }
    try {
      await this.dropShadows();
    } catch (error) {
      await lock.stop();
      throw error;
    }
    const shadow = await this.live.copy(shadowCollections);
    return {
      shadow,
      swap: async (finish) => {
        await this.swap(projections, shadow, finish);
        await lock.stop();
      },
      discard: async () => {
        await this.dropShadows();
        await lock.stop();
      },
    };
  }

  /** A lease this rebuild keeps renewing until stopped; its work is the rebuild itself. */
  private async keepLease(name: string): Promise<Singleton> {
    const work = { start: async () => undefined, stop: async () => undefined };
    const keeper = new Singleton({ name, holder: this.holder, leases: this.leases, work, logger: this.logger });
    await keeper.start();
    return keeper;
  }

  private async swap(projections: ProjectionName[], shadow: MongoReadStore, finish: () => Promise<unknown>): Promise<void> {
    await this.leases.seize(PROJECTIONS_LEASE, this.holder, LEASE_TTL_MS);
    // Renewed while the swap runs: the last batch and the renames may outlast one TTL.
    const projectionsLease = await this.keepLease(PROJECTIONS_LEASE);
    try {
      await finish();
      const reached = await shadow.checkpoints();
      for (const name of projections) {
        for (const kind of collectionsOfProjection[name]!) {
          await renameOver(this.live.db, shadowCollections[kind], liveCollections[kind]);
        }
      }
      // Fenced: a swap that lost the lease (not renewed in time) must not move the checkpoints.
      const token = projectionsLease.token;
      if (!token) throw new Error('the projections lease was lost during the swap');
      await this.live.apply({ writes: [], checkpoints: Object.fromEntries(projections.map((name) => [name, reached[name] ?? 0])) }, token);
    } finally {
      await projectionsLease.stop();
    }
    await this.dropShadows();
  }

  /** Shadow collections of an unfinished rebuild (and the shadow checkpoints of a finished one), old ones a swap left. */
  private async dropShadows(): Promise<void> {
    const names = (await this.live.db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
    for (const name of names.filter((n) => n.endsWith(SHADOW) || n.endsWith(RETIRED))) await this.live.db.dropCollection(name);
  }
}

/**
 * Renames `from` over `to` in one step where the server can (MongoDB: dropTarget). FerretDB v1
 * cannot drop the target in a rename: there the old collection is renamed aside first, so for the
 * moment between the two renames a reader finds no collection under the name (an empty answer).
 */
async function renameOver(db: Db, from: string, to: string): Promise<void> {
  try {
    await db.renameCollection(from, to, { dropTarget: true });
  } catch (error) {
    if (!(error instanceof MongoServerError && error.codeName === 'NotImplemented')) throw error;
    const replaced = await renamedAside(db, to);
    await db.renameCollection(from, to);
    if (replaced) await db.dropCollection(to + RETIRED);
  }
}

/** Renames a collection aside; false when there was none (a projection never written to). */
async function renamedAside(db: Db, name: string): Promise<boolean> {
  try {
    await db.renameCollection(name, name + RETIRED);
    return true;
  } catch (error) {
    if (error instanceof MongoServerError && error.codeName === 'NamespaceNotFound') return false;
    throw error;
  }
}

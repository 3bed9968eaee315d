import { createHash } from 'node:crypto';

/**
 * The datacenters this one knows: itself, its peers (reached over the internal link) and every
 * one's public address. Every DC must be configured with the same set, since usernames are homed
 * by it.
 */
export class Topology {
  /** Every datacenter id, sorted: the same list in every DC. */
  readonly all: readonly string[];

  constructor(
    readonly self: string,
    readonly peers: ReadonlyMap<string, string> = new Map(),
    private readonly publicUrls: ReadonlyMap<string, string> = new Map(),
  ) {
    this.all = [self, ...peers.keys()].sort();
  }

  get multiple(): boolean {
    return this.all.length > 1;
  }

  /**
   * The datacenter that alone writes a username's reservation stream: picked by a hash of the name,
   * so every DC agrees without asking, and two DCs registering one name at once both end up asking
   * the same writer, whose expected-revision check lets exactly one win.
   */
  usernameHome(username: string): string {
    const digest = createHash('sha256').update(username.toLowerCase()).digest();
    return this.all[digest.readUInt32BE(0) % this.all.length]!;
  }

  publicUrl(dc: string): string | undefined {
    return this.publicUrls.get(dc);
  }
}

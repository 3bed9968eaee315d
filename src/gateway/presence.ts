import { LRUCache } from 'lru-cache';
import type { LastSeenStore } from '../projections/ports.js';

export interface PresenceView {
  online: boolean;
  /** The user's last activity (send, read, typing, foreground ping), ISO 8601; null if never seen. */
  lastSeenAt: string | null;
}

/**
 * Who holds sockets across the instances of one datacenter (Redis). Each instance reports only the
 * first socket of a user it takes and the last one it loses, and learns whether that changed the
 * DC-wide state: that instance alone announces the change, so watchers hear of it once, however many
 * instances there are and whichever instance their own sockets are on.
 */
export interface SharedPresence {
  /** This instance holds a socket of the user now; true when no instance held one before. */
  arrived(userId: string): Promise<boolean>;
  /** This instance holds no socket of the user any more; true when no instance holds one now. */
  left(userId: string): Promise<boolean>;
  isOnline(userId: string): Promise<boolean>;
  /** Keeps this instance's users online; the users of an instance that stops refreshing expire. */
  refresh(userIds: readonly string[]): Promise<void>;
  readonly refreshIntervalMs: number;
}

export interface PresenceOptions {
  /** Minimum time between two announcements about one user; 0 announces every change. */
  notifyIntervalMs: number;
  /** Where last-seen times outlive the process. */
  store: LastSeenStore;
  /** Other instances of this datacenter; without it, this instance alone decides who is online. */
  shared?: SharedPresence;
  onError(error: unknown): void;
}

export type PresenceListener = (userId: string, view: PresenceView) => void;

/** Unsaved last-seen times are written this often: a crash loses at most this much of them. */
const FLUSH_INTERVAL_MS = 5000;
const CACHED_USERS = 100_000;

/**
 * Who is online (holds at least one live socket here, or on another instance of the datacenter when
 * they share presence) and when each user was last active.
 *
 * A change of online state is announced at once and opens a window of `notifyIntervalMs`. Changes
 * inside the window are not announced; when it closes, the state is announced again only if it
 * differs from the one announced when it opened. A flapping connection therefore costs its
 * watchers at most one frame per window, and a reconnect inside a window costs them nothing.
 */
export class PresenceTracker {
  private readonly devices = new Map<string, number>();
  private readonly windows = new Map<string, { announced: boolean; timer: NodeJS.Timeout }>();
  private readonly lastSeen = new LRUCache<string, string>({ max: CACHED_USERS });
  /** Whether users of other datacenters are online, as their home DCs last announced it. */
  private readonly onlineElsewhere = new LRUCache<string, boolean>({ max: CACHED_USERS });
  private unsaved = new Map<string, string>();
  private readonly listeners: PresenceListener[] = [];
  private readonly flushTimer: NodeJS.Timeout;
  private readonly refreshTimer: NodeJS.Timeout | null;
  private closed = false;

  constructor(private readonly options: PresenceOptions) {
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    const { shared } = options;
    this.refreshTimer = shared ? setInterval(() => void this.refreshShared(shared), shared.refreshIntervalMs) : null;
  }

  onAnnounce(listener: PresenceListener): void {
    this.listeners.push(listener);
  }

  hasSocketHere(userId: string): boolean {
    return this.devices.has(userId);
  }

  /** Online anywhere in this datacenter; while Redis is away, as far as this instance knows. */
  async isOnline(userId: string): Promise<boolean> {
    if (!this.options.shared) return this.hasSocketHere(userId);
    return this.options.shared.isOnline(userId).catch(() => this.hasSocketHere(userId));
  }

  connected(userId: string): void {
    const count = (this.devices.get(userId) ?? 0) + 1;
    this.devices.set(userId, count);
    if (count === 1) this.reportChange(userId, true);
  }

  disconnected(userId: string): void {
    const count = (this.devices.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.devices.set(userId, count);
      return;
    }
    this.devices.delete(userId);
    this.reportChange(userId, false);
  }

  /** Records user activity at `at` (ISO 8601). Last-seen never moves backwards. */
  touch(userId: string, at: string): void {
    const known = this.unsaved.get(userId) ?? this.lastSeen.get(userId);
    if (known !== undefined && known >= at) return;
    this.lastSeen.set(userId, at);
    this.unsaved.set(userId, at);
  }

  async view(userId: string): Promise<PresenceView> {
    const [online, lastSeenAt] = await Promise.all([this.isOnline(userId), this.lastSeenAt(userId)]);
    return { online: online || this.onlineElsewhere.get(userId) === true, lastSeenAt };
  }

  /** What a user's home datacenter announced: served here as it is, never announced again from here. */
  heard(userId: string, view: PresenceView): void {
    this.onlineElsewhere.set(userId, view.online);
    if (view.lastSeenAt) this.touch(userId, view.lastSeenAt);
  }

  /** Stops announcing (sockets closing at shutdown are no news) and saves what is unsaved. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.flushTimer);
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
    await this.flush();
  }

  /**
   * This instance's own state changed; with shared presence, only a change of the DC-wide state is
   * announced. Redis away: announced as if this instance were alone (watchers may then hear a
   * change twice, which beats not at all).
   */
  private reportChange(userId: string, online: boolean): void {
    const { shared } = this.options;
    if (!shared) return this.changed(userId, online);
    (online ? shared.arrived(userId) : shared.left(userId)).then(
      (dcChanged) => dcChanged && this.changed(userId, online),
      () => this.changed(userId, online),
    );
  }

  private changed(userId: string, online: boolean): void {
    // An open window reconciles at its end.
    if (!this.closed && !this.windows.has(userId)) this.announce(userId, online);
  }

  private announce(userId: string, online: boolean): void {
    if (this.options.notifyIntervalMs > 0) {
      const timer = setTimeout(() => this.closeWindow(userId), this.options.notifyIntervalMs);
      this.windows.set(userId, { announced: online, timer });
    }
    this.lastSeenAt(userId).then(
      (lastSeenAt) => {
        for (const listener of this.listeners) listener(userId, { online, lastSeenAt });
      },
      (error) => this.options.onError(error),
    );
  }

  private closeWindow(userId: string): void {
    const window = this.windows.get(userId);
    this.windows.delete(userId);
    if (!window) return;
    this.isOnline(userId).then((online) => {
      // A change reported while the state was read has been announced already.
      if (!this.closed && !this.windows.has(userId) && window.announced !== online) this.announce(userId, online);
    }, this.options.onError);
  }

  private async refreshShared(shared: SharedPresence): Promise<void> {
    // Redis away: the entries may expire meanwhile; the first refresh after it is back restores them.
    await shared.refresh([...this.devices.keys()]).catch(() => {});
  }

  private async lastSeenAt(userId: string): Promise<string | null> {
    const known = this.unsaved.get(userId) ?? this.lastSeen.get(userId);
    if (known !== undefined) return known;
    const stored = (await this.options.store.getLastSeen([userId]))[userId] ?? null;
    // Activity recorded while the store answered is newer than what it answered.
    const meanwhile = this.lastSeen.get(userId);
    if (stored !== null && (meanwhile === undefined || meanwhile < stored)) this.lastSeen.set(userId, stored);
    return meanwhile !== undefined && (stored === null || meanwhile > stored) ? meanwhile : stored;
  }

  private async flush(): Promise<void> {
    if (this.unsaved.size === 0) return;
    const batch = this.unsaved;
    this.unsaved = new Map();
    try {
      await this.options.store.saveLastSeen(Object.fromEntries(batch));
    } catch (error) {
      // Kept for the next flush, unless newer activity replaced them meanwhile.
      for (const [userId, at] of batch) if (!this.unsaved.has(userId)) this.unsaved.set(userId, at);
      this.options.onError(error);
    }
  }
}

import { LRUCache } from 'lru-cache';
import type { LastSeenStore } from '../projections/ports.js';

export interface PresenceView {
  online: boolean;
  /** The user's last activity (send, read, typing, foreground ping), ISO 8601; null if never seen. */
  lastSeenAt: string | null;
}

export interface PresenceOptions {
  /** Minimum time between two announcements about one user; 0 announces every change. */
  notifyIntervalMs: number;
  /** Where last-seen times outlive the process. */
  store: LastSeenStore;
  onError(error: unknown): void;
}

export type PresenceListener = (userId: string, view: PresenceView) => void;

/** Unsaved last-seen times are written this often: a crash loses at most this much of them. */
const FLUSH_INTERVAL_MS = 5000;
const CACHED_USERS = 100_000;

/**
 * Who is online (holds at least one live socket) and when each user was last active.
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
  private closed = false;

  constructor(private readonly options: PresenceOptions) {
    this.flushTimer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
  }

  onAnnounce(listener: PresenceListener): void {
    this.listeners.push(listener);
  }

  isOnline(userId: string): boolean {
    return this.devices.has(userId);
  }

  connected(userId: string): void {
    const count = (this.devices.get(userId) ?? 0) + 1;
    this.devices.set(userId, count);
    if (count === 1) this.changed(userId);
  }

  disconnected(userId: string): void {
    const count = (this.devices.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.devices.set(userId, count);
      return;
    }
    this.devices.delete(userId);
    this.changed(userId);
  }

  /** Records user activity at `at` (ISO 8601). Last-seen never moves backwards. */
  touch(userId: string, at: string): void {
    const known = this.unsaved.get(userId) ?? this.lastSeen.get(userId);
    if (known !== undefined && known >= at) return;
    this.lastSeen.set(userId, at);
    this.unsaved.set(userId, at);
  }

  async view(userId: string): Promise<PresenceView> {
    return { online: this.isOnline(userId) || this.onlineElsewhere.get(userId) === true, lastSeenAt: await this.lastSeenAt(userId) };
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
    for (const w of this.windows.values()) clearTimeout(w.timer);
    this.windows.clear();
    await this.flush();
  }

  private changed(userId: string): void {
    // An open window reconciles at its end.
    if (!this.closed && !this.windows.has(userId)) this.announce(userId);
  }

  private announce(userId: string): void {
    const online = this.isOnline(userId);
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
    if (window && window.announced !== this.isOnline(userId)) this.announce(userId);
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

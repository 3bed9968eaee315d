export interface TypingOptions {
  /** An indicator not renewed for this long expires (receivers get `typing: false`). */
  ttlMs: number;
  /** Large groups: one sender's indicator is forwarded at most this often. */
  throttleMs: number;
}

/** Forwards a typing change to the conversation's other online members. */
export type TypingSignal = (conversationId: string, userId: string, typing: boolean) => void;

/**
 * Small conversations: renewals of an indicator the receivers already show are forwarded at most
 * this often. Clients renew every few seconds while keys are pressed; more often only repeats it.
 */
export const RENEWAL_MIN_INTERVAL_MS = 1000;

export interface TypistState {
  /** Whether receivers were last told `typing: true`. */
  announced: boolean;
  lastForwardedAt: number;
}

/**
 * Pure: whether a typing frame is forwarded now. A start is forwarded at once in small
 * conversations; in large groups every forward counts against the sender's throttle.
 */
export function forwardTyping(
  state: TypistState | undefined,
  now: number,
  large: boolean,
  options: Pick<TypingOptions, 'throttleMs'>,
): boolean {
  if (!state) return true;
  if (large) return now - state.lastForwardedAt >= options.throttleMs;
  return !state.announced || now - state.lastForwardedAt >= RENEWAL_MIN_INTERVAL_MS;
}

interface Typist extends TypistState {
  expiry: NodeJS.Timeout;
}

/**
 * Ephemeral typing state per (conversation, sender): never stored, gone with the process. A
 * sender's record lives until its indicator expires, so a throttled sender who stops and starts
 * again is still throttled.
 */
export class TypingTracker {
  private readonly typists = new Map<string, Typist>();

  constructor(
    private readonly options: TypingOptions,
    private readonly signal: TypingSignal,
  ) {}

  started(conversationId: string, userId: string, large: boolean): void {
    const key = typistKey(conversationId, userId);
    const previous = this.typists.get(key);
    if (previous) clearTimeout(previous.expiry);
    const now = Date.now();
    const forward = forwardTyping(previous, now, large, this.options);
    const typist: Typist = {
      announced: forward || (previous?.announced ?? false),
      lastForwardedAt: forward ? now : previous!.lastForwardedAt,
      expiry: setTimeout(() => this.expired(key, conversationId, userId), this.options.ttlMs),
    };
    this.typists.set(key, typist);
    if (forward) this.signal(conversationId, userId, true);
  }

  stopped(conversationId: string, userId: string): void {
    const typist = this.typists.get(typistKey(conversationId, userId));
    if (!typist?.announced) return;
    typist.announced = false;
    this.signal(conversationId, userId, false);
  }

  /** The sender's message ends the indicator; receivers clear it on the MessageSent itself. */
  sent(conversationId: string, userId: string): void {
    const typist = this.typists.get(typistKey(conversationId, userId));
    if (typist) typist.announced = false;
  }

  close(): void {
    for (const t of this.typists.values()) clearTimeout(t.expiry);
    this.typists.clear();
  }

  private expired(key: string, conversationId: string, userId: string): void {
    const typist = this.typists.get(key);
    this.typists.delete(key);
    if (typist?.announced) this.signal(conversationId, userId, false);
  }
}

const typistKey = (conversationId: string, userId: string) => `${conversationId}\u0000${userId}`;

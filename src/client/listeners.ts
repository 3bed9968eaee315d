/** A minimal typed event emitter that runs in browsers and Node alike. */
export class Listeners<Events extends Record<string, unknown>> {
  private readonly byName = new Map<keyof Events, Set<(value: never) => void>>();

  /** Subscribes; the returned function unsubscribes. */
  on<K extends keyof Events>(name: K, listener: (value: Events[K]) => void): () => void {
    const set = this.byName.get(name) ?? new Set();
    this.byName.set(name, set);
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  emit<K extends keyof Events>(name: K, value: Events[K]): void {
    for (const listener of this.byName.get(name) ?? []) (listener as (value: Events[K]) => void)(value);
  }
}

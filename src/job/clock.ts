/**
 * The one clock of a run: the time, the waits, and the jitter of retries. main.ts passes the system's; tests pass a
 * fake one, whose time moves only when a wait asks it to.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** A number in [0, 1). */
  readonly random: () => number;
}

/** The machine's clock: what main.ts passes to every client of a run. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise<void>((r) => setTimeout(r, ms)),
  random: () => Math.random(),
};

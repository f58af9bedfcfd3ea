/**
 * What a test process starts and must stop: child processes, servers, timers, network namespaces. Each is
 * registered as it starts. `stopAll()` runs after every integration test file (test/harness/teardown.ts), so a
 * beforeAll that fails or times out half way leaves nothing running to keep Jest alive; set-up still running
 * after that (a timed-out hook is not cancelled) has what it starts stopped at once, and fails.
 */
import { ChildProcess } from 'child_process';

type Stop = () => unknown;

const running = new Map<symbol, Stop>();
const children = new Set<ChildProcess>();
let closed = false;

// Whatever ends the process, its children go with it (exit handlers must be synchronous: SIGKILL).
process.once('exit', () => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')));

/** Registers `stop` under `what`; returns a function that runs it once and forgets it. */
export function own(what: string, stop: Stop): () => Promise<void> {
  const key = Symbol(what);
  let done: Promise<void> | undefined;
  const once = () =>
    (done ??= (async () => {
      running.delete(key);
      await stop();
    })());
  running.set(key, once);
  if (closed) {
    void once();
    throw new Error(`${what} started after teardown: stopped`);
  }
  return once;
}

/** Stops `child`: SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. */
export function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Owns a child process just spawned: stopped in teardown and killed when this process exits. */
export function ownChild(what: string, child: ChildProcess, graceMs?: number): () => Promise<void> {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return own(what, () => stopChild(child, graceMs));
}

/** setInterval, owned: cleared in teardown. */
export function ownInterval(what: string, f: () => void, ms: number): () => Promise<void> {
  const timer = setInterval(f, ms);
  return own(what, () => clearInterval(timer));
}

/** Stops everything still running, last started first; later registrations are stopped as they come. */
export async function stopAll(): Promise<void> {
  closed = true;
  const errors: unknown[] = [];
  for (const stop of [...running.values()].reverse()) await Promise.resolve(stop()).catch((e) => errors.push(e));
  if (errors.length) throw new AggregateError(errors, `teardown: ${errors.length} resources failed to stop`);
}

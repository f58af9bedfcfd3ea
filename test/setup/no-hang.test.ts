/**
 * A failed set-up ends the run: Jest runs small projects (test/fixtures/failing-setup) whose set-up fails, times
 * out or leaks, and must exit non-zero within a bound, with the processes they started gone.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

jest.setTimeout(180_000);

const repoRoot = path.resolve(__dirname, '..', '..');
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'failing-setup');
const BOUND_MS = 60_000;

interface Run {
  readonly code: number | null;
  readonly ms: number;
  readonly out: string;
}

/** Runs `args` from the repository root in a process group of its own; past `boundMs` the group is killed. */
function run(command: string, args: string[], env: Record<string, string> = {}, boundMs = BOUND_MS): Promise<Run> {
  const t0 = Date.now();
  const child = spawn(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const bound = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), boundMs);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(bound);
      resolve({ code, ms: Date.now() - t0, out });
    }),
  );
}

/** A Jest config for one fixture, with the harness's teardown as in jest.config.js. */
function config(extra: Record<string, unknown>): string {
  return JSON.stringify({
    rootDir: fixtures,
    testEnvironment: 'node',
    transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: path.join(repoRoot, 'test', 'tsconfig.json') }] },
    setupFilesAfterEnv: [path.join(repoRoot, 'test', 'harness', 'teardown.ts')],
    ...extra,
  });
}

const jestBin = require.resolve('jest/bin/jest', { paths: [repoRoot] });
const jestRun = (extra: Record<string, unknown>, env: Record<string, string> = {}) =>
  run(process.execPath, [jestBin, '--ci', '--runInBand', '--config', config(extra)], env);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let pidFile: string;
beforeEach(() => {
  pidFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ac-no-hang-')), 'pid');
});

test.each([
  ['fails', 'set-up failed on purpose'],
  ['times-out', 'Exceeded timeout of 1000 ms for a hook'],
])('a beforeAll that %s: Jest exits non-zero, and the process it started is gone', async (fixture, why) => {
  const r = await jestRun({ testMatch: [`<rootDir>/before-all-${fixture}.test.ts`] }, { AC_PID_FILE: pidFile });
  expect(r.out).toContain(why);
  expect(r.code).toBe(1);
  expect(r.ms).toBeLessThan(BOUND_MS);
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  await new Promise((res) => setTimeout(res, 500));
  expect(alive(pid)).toBe(false);
});

test('a globalSetup that fails: Jest exits non-zero', async () => {
  const r = await jestRun({ globalSetup: '<rootDir>/global-setup-fails.ts', testMatch: ['<rootDir>/leaks-a-timer.test.ts'] });
  expect(r.out).toContain('global set-up failed on purpose');
  expect(r.code).toBe(1);
  expect(r.ms).toBeLessThan(BOUND_MS);
});

test('a run that does not end: the deadline kills it and the summary line says it failed', async () => {
  const deadline = 15;
  const r = await run(
    'bash',
    ['test/harness/run-jest.sh', '--runInBand', '--config', config({ testMatch: ['<rootDir>/leaks-a-timer.test.ts'] })],
    {
      AC_TEST_DEADLINE_SECONDS: String(deadline),
    },
  );
  expect(r.out).toContain(`Jest was still running after ${deadline} s`);
  expect(r.out.trim().split('\n').pop()).toBe('1 passed, 1 failed');
  expect(r.code).not.toBe(0);
  expect(r.ms).toBeLessThan((deadline + 10) * 1000 + 15_000);
});

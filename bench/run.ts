/**
 * `npm run bench`: every figure of the benchmark issue, printed as tables with their floors, and written to
 * bench/results/<date>.json. Bundled to lib/bench/, two levels down like test/<dir>/, so the harness's
 * __dirname-relative paths hold. BENCH_QUICK=1 takes fewer samples and sizes, for a smoke run; BENCH_ONLY picks figures.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../src/config/package-root';
import globalSetup from '../test/harness/global-setup';
import globalTeardown from '../test/harness/global-teardown';
import { capacity } from './capacity';
import { limitBinds, mutationLimit, roundTrips, scale, throughput, wallTime } from './cancellation';
import { endToEnd } from './e2e';
import { appAuth } from './github-app';
import { reconcilerCost } from './reconciler';
import { jobBundle } from './job-bundle';
import { since } from './stats';
import { synth } from './synth';

const quick = process.env.BENCH_QUICK === '1';
/** BENCH_ONLY=throughput,mutationLimit measures only those figures. */
const only = process.env.BENCH_ONLY?.split(',');

async function main() {
  const t0 = process.hrtime.bigint();
  const results: Record<string, any> = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
  };
  const failed: string[] = [];
  // A figure that breaks is recorded and the others still run: the JSON keeps what could be measured.
  const figure = async (key: string, f: () => unknown) => {
    if (only && !only.includes(key)) return;
    // The machine's 1-minute load average before and after: a figure's noise comes with it.
    const before = os.loadavg()[0];
    try {
      results[key] = await f();
    } catch (e) {
      failed.push(key);
      results[key] = { error: (e as Error).message };
      console.log(`failed: ${(e as Error).stack ?? String(e)}`);
    }
    const after = os.loadavg()[0];
    if (results[key] && typeof results[key] === 'object') results[key].load = { before, after };
    console.log(`(load average ${before.toFixed(1)} before, ${after.toFixed(1)} after, on ${os.cpus().length} cores)`);
  };
  await globalSetup();
  try {
    await figure('roundTrips', () => roundTrips(quick ? 2 : 10));
    await figure('wallTime', () => wallTime(quick ? 1 : 5, quick ? 2 : 4));
    await figure('jobBundle', () => jobBundle(quick ? 3 : 10));
    await figure('scale', () => scale(quick ? [100] : [100, 1000, 5000], quick ? 5 : 100));
    await figure('throughput', () => throughput(quick ? 10 : 100, quick ? 1 : 5));
    await figure('reconciler', () => reconcilerCost(quick ? [2] : [10, 100, 1000]));
    await figure('mutationLimit', () => mutationLimit(quick ? 10 : 100, 1000));
    await figure('capacity', () =>
      capacity(results.roundTrips.perPush, { burst: results.throughput, jobCpuMs: results.wallTime?.job?.cpuMs, cores: os.cpus().length }),
    );
    await figure('limitBinds', () => limitBinds(quick ? 3 : 8));
    await figure('appAuth', () => appAuth(quick ? 2 : 10));
    await figure('endToEnd', () => endToEnd(quick ? 2 : 10, results.wallTime?.job?.wallMs));
  } finally {
    await globalTeardown();
  }
  // With the control plane stopped, so that nothing else competes for the CPU.
  await figure('synth', () => synth(quick ? 2 : 5));
  results.totalSeconds = since(t0) / 1000;
  const dir = path.join(packageRoot(), 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${String(results.date).slice(0, 10)}.json`);
  fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nall figures in ${results.totalSeconds.toFixed(0)} s; wrote ${path.relative(process.cwd(), file)}`);
  if (failed.length) {
    console.log(`failed figures: ${failed.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

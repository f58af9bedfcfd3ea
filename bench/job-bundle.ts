/** Figure 2b: the Job bundle's size and cold start (`--help`), against `node -e 0` as the floor. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as zlib from 'zlib';
import { bundlePath } from '../src/constructs/remediation-job';
import { heading, median, ms, ratio, row, since } from './stats';

function time(args: string[]): number {
  const t0 = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  return since(t0);
}

export function jobBundle(runs: number) {
  const bundle = bundlePath();
  const bytes = fs.statSync(bundle).size;
  const gzip = zlib.gzipSync(fs.readFileSync(bundle)).length;
  const floor = median(Array.from({ length: runs }, () => time(['-e', '0'])));
  const cold = median(Array.from({ length: runs }, () => time([bundle, '--help'])));
  heading(`2b. Job bundle size and cold start (medians of ${runs})`);
  row('bundle size', `${(bytes / 1024).toFixed(1)} kB`, `${(gzip / 1024).toFixed(1)} kB gzip; ConfigMap limit 1024 kB`);
  row('node -e 0 (floor)', ms(floor), 'floor');
  row('bundle --help (cold start)', ms(cold), ratio(cold, floor));
  return { bundleBytes: bytes, bundleGzipBytes: gzip, coldStartMs: cold, floorMs: floor, runs };
}

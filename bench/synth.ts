/**
 * Figure 6: synth time for the default config and for 50 repositories, against `node -e 0` as the floor.
 * "app" runs the compiled app only; "npx cdk8s synth" is the full command users run, build included.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { packageRoot } from '../src/config/package-root';
import { heading, median, ms, ratio, row, since } from './stats';

function time(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { cwd: packageRoot(), env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false', ...env }, stdio: 'ignore' });
  return since(t0);
}

export function synth(runs: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-bench-synth-'));
  const many = path.join(dir, 'fifty.yaml');
  fs.writeFileSync(many, `github:\n  repositories:\n${Array.from({ length: 50 }, (_, i) => `    - 5dlabs/repo-${i}`).join('\n')}\n`);
  const app = (config?: string) => () =>
    time('node', ['lib/src/main.js'], { CDK8S_OUTDIR: path.join(dir, 'out'), ...(config ? { AGENT_CANCELLATION_CONFIG: config } : {}) });
  const cases: Array<[string, () => number, number]> = [
    ['node -e 0 (floor)', () => time('node', ['-e', '0']), runs],
    ['app, default config', app(), runs],
    ['app, 50 repositories', app(many), runs],
    ['npx cdk8s synth, default config', () => time('npx', ['cdk8s', 'synth', '--output', path.join(dir, 'full')]), Math.min(runs, 2)],
  ];
  heading(`6. synth (medians of ${runs}; npx of ${Math.min(runs, 2)})`);
  const results: Record<string, { medianMs: number; runs: number }> = {};
  let floor = 0;
  for (const [name, fn, n] of cases) {
    const v = median(Array.from({ length: n }, fn));
    floor ||= v;
    results[name] = { medianMs: v, runs: n };
    row(name, ms(v), v === floor ? 'floor' : ratio(v, floor));
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return results;
}

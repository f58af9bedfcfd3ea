#!/usr/bin/env node
// Figure 6: synth time for the default config and for 50 repositories, against `node -e 0` as the floor.
// "app" runs the compiled app only (lib/ must be built); "cdk8s synth" is the full command users run, build included.
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { median, row } = require('./stats');

const root = path.resolve(__dirname, '..');
const runs = Number(process.env.BENCH_RUNS || 5);

function time(cmd, args, env) {
  const t0 = process.hrtime.bigint();
  execFileSync(cmd, args, { cwd: root, env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false', ...env }, stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-bench-synth-'));
  const many = path.join(dir, 'fifty.yaml');
  const repos = Array.from({ length: 50 }, (_, i) => `5dlabs/repo-${i}`);
  fs.writeFileSync(many, `github:\n  repositories:\n${repos.map((r) => `    - ${r}`).join('\n')}\n`);
  const app = (config) => () => time('node', ['lib/src/main.js'], { CDK8S_OUTDIR: path.join(dir, 'out'), ...(config ? { AGENT_CANCELLATION_CONFIG: config } : {}) });
  const cases = [
    ['node -e 0 (floor)', () => time('node', ['-e', '0'])],
    ['app, default config', app()],
    ['app, 50 repositories', app(many)],
    ['npx cdk8s synth, default config', () => time('npx', ['cdk8s', 'synth', '--output', path.join(dir, 'full')])],
  ];
  const floor = median(Array.from({ length: runs }, cases[0][1]));
  const results = {};
  for (const [name, fn] of cases) {
    const n = name.startsWith('npx') ? Math.min(runs, 2) : runs;
    const ms = median(Array.from({ length: n }, fn));
    results[name] = { medianMs: ms, runs: n, floorMs: floor };
    row(name, `${ms.toFixed(0)} ms`, fn === cases[0][1] ? 'floor' : `${(ms / floor).toFixed(1)}x the floor`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return results;
}

module.exports = { main };
if (require.main === module) main();

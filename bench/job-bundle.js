#!/usr/bin/env node
// Figure 2 (part): the Job bundle's size and cold start (`--help`), against `node -e 0` as the floor.
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { median, row } = require('./stats');

const bundle = path.resolve(__dirname, '..', 'lib', 'bundle', 'remediation-job.js');
const runs = Number(process.env.BENCH_RUNS || 10);

function time(args) {
  const t0 = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore' });
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function main() {
  if (!fs.existsSync(bundle)) throw new Error('no bundle: run "npm run build" first');
  const bytes = fs.statSync(bundle).size;
  const gzip = zlib.gzipSync(fs.readFileSync(bundle)).length;
  const floor = median(Array.from({ length: runs }, () => time(['-e', '0'])));
  const cold = median(Array.from({ length: runs }, () => time([bundle, '--help'])));
  row('bundle size', `${(bytes / 1024).toFixed(1)} kB`, `${(gzip / 1024).toFixed(1)} kB gzip; ConfigMap limit 1024 kB`);
  row('node -e 0 (floor)', `${floor.toFixed(0)} ms`, 'floor');
  row('bundle --help (cold start)', `${cold.toFixed(0)} ms`, `${(cold / floor).toFixed(2)}x the floor`);
  return { bundleBytes: bytes, bundleGzipBytes: gzip, coldStartMs: cold, floorMs: floor, runs };
}

module.exports = { main };
if (require.main === module) main();

#!/usr/bin/env node
// Runs every benchmark, prints the table, and writes bench/results/<date>.json.
const fs = require('fs');
const os = require('os');
const path = require('path');

const benches = { jobBundle: require('./job-bundle'), synth: require('./synth') };
const results = { date: new Date().toISOString(), machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30) } };
for (const [name, bench] of Object.entries(benches)) {
  console.log(`\n== ${name}`);
  results[name] = bench.main();
}
const dir = path.join(__dirname, 'results');
fs.mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${results.date.slice(0, 10)}.json`);
fs.writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
console.log(`\nwrote ${path.relative(process.cwd(), file)}`);

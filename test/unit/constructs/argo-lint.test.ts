/** `argo-events lint` (Argo Events v1.9.11's own validation) over dist/ and every preset's synth. */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { binaries } from '../../harness/binaries';
import { repoRoot } from './synth-helpers';

const binary = binaries().argoEvents;

function lint(target: string) {
  const r = spawnSync(binary, ['lint', '--strict', target], { encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

function synthPreset(preset: string): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), `ac-lint-${preset}-`));
  execFileSync('node', [path.join(repoRoot, 'lib/src/main.js')], {
    env: { ...process.env, AGENT_CANCELLATION_CONFIG: path.join(repoRoot, 'presets', `${preset}.yaml`), CDK8S_OUTDIR: out },
  });
  return out;
}

// The 5dlabs preset subscribes to the platform's EventSource: it makes a Sensor only.
test.each([
  ['dist/', path.join(repoRoot, 'dist'), ['EventSource', 'Sensor']],
  ['preset card', synthPreset('card'), ['EventSource', 'Sensor']],
  ['preset 5dlabs-cto', synthPreset('5dlabs-cto'), ['Sensor']],
])('%s passes argo-events lint --strict', (_name, dir, kinds) => {
  const r = lint(dir);
  for (const kind of kinds) expect(r.out).toContain(`${kind} is valid`);
  expect(r.code).toBe(0);
});

test('lint rejects a broken Sensor (the check can fail)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-lint-bad-'));
  const text = fs
    .readFileSync(path.join(repoRoot, 'dist', 'agent-cancellation.k8s.yaml'), 'utf8')
    .replace('operation: create', 'operation: explode');
  fs.writeFileSync(path.join(dir, 'bad.yaml'), text);
  const r = lint(dir);
  expect(r.out).toContain('unknown operation type explode');
  expect(r.code).not.toBe(0);
});

test('lint rejects an EventSource with both repositories and organizations, which the construct never emits', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-lint-both-'));
  const text = fs
    .readFileSync(path.join(repoRoot, 'dist', 'agent-cancellation.k8s.yaml'), 'utf8')
    .replace(/^( +)repositories:\n/m, '$1organizations:\n$1  - 5dlabs\n$1repositories:\n');
  expect(text).toContain('organizations:');
  fs.writeFileSync(path.join(dir, 'both.yaml'), text);
  const r = lint(dir);
  expect(r.out).toContain('only one of repositories and organizations is allowed');
  expect(r.code).not.toBe(0);
});

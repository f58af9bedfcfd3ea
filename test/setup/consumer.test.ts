/**
 * The package as another repository uses it: `npm pack`, installed into a scratch project with the peer
 * dependencies the README names, the README's example compiled with tsc as written, then synthesized.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';

jest.setTimeout(300_000);

const repoRoot = path.resolve(__dirname, '..', '..');
const SECTION = '## Use the constructs from npm';

/** The fenced blocks of `lang` in the README's section on reuse, in order. */
function readmeBlocks(lang: string): string[] {
  const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README has no "${SECTION}"`);
  const section = readme.slice(start + SECTION.length).split(/^## /m)[0];
  return [...section.matchAll(new RegExp('^```' + lang + '\\n([\\s\\S]*?)^```', 'gm'))].map((m) => m[1]);
}

const sh = (cmd: string, args: string[], cwd: string) =>
  execFileSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });

let scratch: string;
let tarball: string;
let files: string[];

beforeAll(() => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-consumer-'));
  const [packed] = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', tmp], repoRoot));
  tarball = path.join(tmp, packed.filename);
  files = packed.files.map((f: { path: string }) => f.path);
  scratch = path.join(tmp, 'consumer');
  fs.mkdirSync(scratch);
  fs.writeFileSync(path.join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  // The README's install line, with this package as the tarball and each other package at the version tested here.
  const [install] = readmeBlocks('sh');
  const names = install.trim().split(/\s+/).slice(2);
  expect(names[0]).toBe('agent-cancellation');
  const versionOf = (name: string) =>
    JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')).version;
  sh(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...names.slice(1).map((n) => `${n}@${versionOf(n)}`)],
    scratch,
  );
});

test('the tarball holds the library, its types, the Job bundle and the schema, and no tests', () => {
  for (const f of [
    'lib/src/index.js',
    'lib/src/index.d.ts',
    'lib/bundle/remediation-job.js',
    'schema/argo-events-subset.crds.yaml',
    'presets/card.yaml',
  ]) {
    expect(files).toContain(f);
  }
  expect(files.filter((f) => /^(test|bench|lib\/bench|lib\/test)\//.test(f))).toEqual([]);
});

test("the README's example compiles with tsc and synthesizes the EventSource, Sensor, Job template and RBAC", () => {
  const [example] = readmeBlocks('ts');
  fs.writeFileSync(path.join(scratch, 'main.ts'), example);
  fs.writeFileSync(
    path.join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'commonjs', strict: true, esModuleInterop: true, skipLibCheck: true, outDir: 'out' },
      files: ['main.ts'],
    }),
  );
  sh(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [repoRoot] }), '-p', 'tsconfig.json'], scratch);
  sh(process.execPath, ['out/main.js'], scratch);

  const dist = path.join(scratch, 'dist');
  const objects = fs.readdirSync(dist).flatMap((f) =>
    YAML.parseAllDocuments(fs.readFileSync(path.join(dist, f), 'utf8'))
      .map((d) => d.toJSON())
      .filter(Boolean),
  );
  const kinds = objects.map((o) => o.kind);
  for (const kind of [
    'EventSource',
    'Sensor',
    'ServiceAccount',
    'Role',
    'RoleBinding',
    'ConfigMap',
    'CronJob',
    'ValidatingAdmissionPolicy',
    'ValidatingAdmissionPolicyBinding',
  ]) {
    expect(kinds).toContain(kind);
  }
  const sensor = objects.find((o) => o.kind === 'Sensor');
  expect(sensor.spec.triggers[0].template.k8s.source.resource.kind).toBe('Job');
  // The Job runs the bundle the package ships, from the ConfigMap.
  const bundle = fs.readFileSync(path.join(scratch, 'node_modules', 'agent-cancellation', 'lib', 'bundle', 'remediation-job.js'), 'utf8');
  expect(Object.values(objects.find((o) => o.kind === 'ConfigMap').data)).toEqual([bundle]);
  // All but the admission policy and its binding, which are cluster-scoped.
  const namespaced = objects.filter((o) => !o.kind.startsWith('ValidatingAdmissionPolicy'));
  expect(new Set(namespaced.map((o) => o.metadata.namespace))).toEqual(new Set(['cto']));
});

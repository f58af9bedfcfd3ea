/**
 * The folders of src/ are an architecture only while the lint keeps their imports apart: constructs and config
 * never import the Job runtime, the runtime never imports synth-time code, and the contract imports nothing.
 * Each case lints a one-line file as if it lived in that folder, with the project's own ESLint configuration.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import { Linter } from 'eslint';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** The rule as the project's configuration sets it for `file` (ESLint loads its ESM config in a process of its own). */
const configs = new Map<string, Linter.RulesRecord>();
function restrictions(file: string): Linter.RulesRecord {
  if (configs.has(file)) return configs.get(file)!;
  const eslint = path.join(repoRoot, 'node_modules', 'eslint', 'bin', 'eslint.js');
  const config = JSON.parse(execFileSync(process.execPath, [eslint, '--print-config', file], { cwd: repoRoot, encoding: 'utf8' }));
  configs.set(file, { 'no-restricted-imports': config.rules['no-restricted-imports'] });
  return configs.get(file)!;
}

function problems(file: string, source: string): string[] {
  const rules = restrictions(file);
  const messages = new Linter().verify(
    source,
    { files: ['**/*.ts'], languageOptions: { sourceType: 'module' }, rules },
    { filename: file },
  );
  return messages.map((m) => m.message);
}

describe('import boundaries', () => {
  test.each([
    ['src/constructs/probe.ts', "import { readInput } from '../job/input';", /never import the Job runtime/],
    ['src/config/probe.ts', "import { reconcile } from '../job/reconcile';", /never import the Job runtime/],
    ['src/config/probe.ts', "import { RemediationJob } from '../constructs/remediation-job';", /never imports the constructs/],
    ['src/job/probe.ts', "import { DEFAULTS } from '../config/defaults';", /never imports synth-time code/],
    ['src/job/probe.ts', "import { RemediationJob } from '../constructs/remediation-job';", /never imports synth-time code/],
    ['src/job/probe.ts', "import { Chart } from 'cdk8s';", /never imports synth-time code/],
    ['src/contract/probe.ts', "import { withRetry } from '../job/retry';", /imports nothing outside itself/],
    ['src/job/github/probe.ts', "import { KubeApi } from '../kube/kube';", /are clients/],
    ['src/job/kube/probe.ts', "import { GitHubApi } from '../github/github';", /are clients/],
    ['src/job/kube/probe.ts', "import { readInput } from '../input';", /never import its entry point/],
    ['src/job/event/probe.ts', "import { reconcile } from '../reconcile/pass';", /builds on src\/job\/event/],
    ['src/job/github/probe.ts', "import { DEFAULTS } from '../../config/defaults';", /never imports synth-time code/],
    ['src/job/retry.ts', "import { KubeApi } from './kube/kube';", /import none/],
    ['src/job/clock.ts', "import { Logger } from './github/github';", /import none/],
  ])('%s: %s is refused', (file, source, message) => {
    const found = problems(file, source);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  test.each([
    ['src/constructs/probe.ts', "import { EVENT_ENV } from '../contract/env';"],
    ['src/job/probe.ts', "import { EVENT_ENV } from '../contract/env';"],
    ['src/job/probe.ts', "import { withRetry } from './retry';"],
    ['src/job/reconcile/probe.ts', "import { handleEvent } from '../event/remediate';"],
    ['src/job/event/probe.ts', "import { KubeApi } from '../kube/kube';"],
    ['src/job/github/probe.ts', "import { withRetry } from '../retry';"],
    ['src/job/kube/probe.ts', "import { Clock } from '../clock';"],
    ['src/contract/probe.ts', "import { LABEL_KEY } from './labels';"],
    ['src/constructs/probe.ts', "import { DEFAULTS } from '../config/defaults';"],
  ])('%s: %s is allowed', (file, source) => {
    expect(problems(file, source)).toEqual([]);
  });
});

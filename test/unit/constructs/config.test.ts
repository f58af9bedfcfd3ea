import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Duration, Testing } from 'cdk8s';
import { CodeRunLocation, ConfigError, DEFAULTS, JobMode, RemediationJob, resolveConfig } from '../../../src';
import { qaSelectorString } from '../../../src/config/safety-rules';
import { find, JOB_PROPS, preset, repoRoot, synth } from './synth-helpers';

function issuesOf(input: unknown): string[] {
  try {
    resolveConfig(input, 'test.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('expected the configuration to be rejected');
}

/** What every selector ends with under the defaults: the default implementation agent excluded. */
const EXCLUDE_DEFAULT_AGENT = `${DEFAULTS.implementationAgent.key}!=${DEFAULTS.implementationAgent.value}`;

describe('configuration', () => {
  test("the defaults are the user's card: presets/card.yaml resolves to exactly the defaults", () => {
    expect(preset('card')).toEqual(resolveConfig({}));
  });

  test('the default selector takes the QA agents and excludes the implementation agent', () => {
    const { key, values } = DEFAULTS.qaSelector;
    expect(qaSelectorString(resolveConfig({}))).toBe(`${key} in (${values.join(',')}),${EXCLUDE_DEFAULT_AGENT}`);
  });

  test('the real-platform preset selects the QA workflow stages in cto', () => {
    const c = preset('5dlabs-cto');
    expect(c.namespace).toBe('cto');
    expect(c.codeRun.group).toBe('agents.platform');
    expect(qaSelectorString(c)).toBe('workflow-stage in (quality,security,testing),workflow-stage!=implementation');
    expect(c.github).toMatchObject({ organizations: [], repositories: ['5dlabs/*'], bots: ['rex-5dlabs[bot]'] });
    // `service` is a workspace id shared by repositories: the repository is read from the URL the CRD requires.
    expect(c.repositoryScope).toEqual({ from: 'field:spec.repositoryUrl', format: 'github', host: 'github.com' });
    expect([c.eventsNamespace, c.existingEventSource]).toEqual(['automation', { name: 'github', eventName: 'org' }]);
    expect(c.codeRun).toMatchObject({ phaseFrom: 'field:status.phase', finishedPhases: ['Succeeded', 'Failed'] });
  });

  test('resolving does not modify the input', () => {
    const input = { github: { bots: ['x[bot]'] } };
    resolveConfig(input);
    expect(input).toEqual({ github: { bots: ['x[bot]'] } });
  });

  test.each([
    [{ namespace: 'Bad_NS' }, 'namespace: "Bad_NS" must match pattern'],
    [{ github: { bots: ['evil x'] } }, 'github.bots[0]: "evil x" must match pattern'],
    [{ github: { bots: [] } }, 'github.bots: [] must NOT have fewer than 1 items'],
    [{ github: { repositories: ['no-slash'] } }, 'github.repositories[0]: "no-slash" must match pattern'],
    [
      { github: { branchPattern: 'feature/task-implementation' } },
      'github.branchPattern: "feature/task-implementation" must match pattern',
    ],
    [{ github: { botLoginCase: 'loose' } }, 'github.botLoginCase: "loose" must be one of ["insensitive","exact"]'],
    [{ job: { mode: 'docker' } }, 'job.mode: "docker" must be one of ["configmap","image"]'],
    [{ job: { nodeImage: 'node:22-alpine' } }, 'job.nodeImage: "node:22-alpine" must match pattern "@sha256:[0-9a-f]{64}$"'],
    [{ webhook: { port: 70000 } }, 'webhook.port: 70000 must be <= 65535'],
    [{ qaSelector: { labelSelector: 'agent-type in (cleo)' } }, 'qaSelector.labelSelector: unknown field'],
    [{ taskIdLabel: '' }, 'taskIdLabel: "" must match pattern'],
    [{ ordering: { clockSkewSeconds: -1 } }, 'ordering.clockSkewSeconds: -1 must be >= 0'],
    [{ ordering: { revision: 'spec.commitSha' } }, 'ordering.revision: "spec.commitSha" must match pattern'],
    [{ ordering: { revision: 'label:Not A Key' } }, 'ordering.revision: "label:Not A Key" must match pattern'],
    [{ github: { botCommitAuthors: ['a,b'] } }, 'github.botCommitAuthors[0]: "a,b" must match pattern'],
    [{ github: { organizations: ['5dlabs/cto'] } }, 'github.organizations[0]: "5dlabs/cto" must match pattern'],
    [
      { github: { organizations: ['acme'] } },
      'github.repositories: "5dlabs/cto" is in none of github.organizations ["acme"] (its pushes would never arrive)',
    ],
    [
      { github: { remediationLabel: { description: 'x'.repeat(101) } } },
      `github.remediationLabel.description: "${'x'.repeat(101)}" must NOT have more than 100 characters`,
    ],
    [{ codeRun: { phaseFrom: '' } }, 'codeRun.phaseFrom: "" must NOT have fewer than 1 characters'],
    [{ codeRun: { phaseFrom: 'status.phase' } }, 'codeRun.phaseFrom: "status.phase" must match pattern'],
    [{ codeRun: { finishedPhases: ['Done!'] } }, 'codeRun.finishedPhases[0]: "Done!" must match pattern'],
    [{ existingEventSource: { name: 'github' } }, 'existingEventSource: {"name":"github"} needs both name and eventName, or neither'],
    [
      { existingEventSource: { name: 'github', eventName: 'org' }, webhook: { port: 12001 } },
      'webhook: set while existingEventSource names github/org, whose webhook is not made here',
    ],
    [
      { existingEventSource: { name: 'github', eventName: 'org' }, github: { organizations: ['5dlabs'] } },
      'github.organizations: set while existingEventSource names github/org',
    ],
    [{ existingEventSource: { name: 'Not_A_Name', eventName: 'org' } }, 'existingEventSource.name: "Not_A_Name" must match pattern'],
  ])('rejects %j', (input, message) => {
    expect(issuesOf(input).join('\n')).toContain(message);
  });

  test('the GitHub host of the github format defaults to the web host of github.graphqlUrl', () => {
    const scope = { from: 'field:spec.repositoryUrl', format: 'github' };
    const host = (graphqlUrl?: string) => resolveConfig({ repositoryScope: scope, github: { graphqlUrl } }).repositoryScope.host;
    expect([host(), host('https://api.acme.ghe.com/graphql'), host('https://GHE.example.com/api/graphql')]).toEqual([
      'github.com',
      'acme.ghe.com',
      'ghe.example.com',
    ]);
    expect(resolveConfig({ repositoryScope: { ...scope, host: 'git.example.com' } }).repositoryScope.host).toBe('git.example.com');
  });

  test('an organization matches its repositories case-insensitively, as GitHub does', () => {
    expect(
      resolveConfig({
        github: { organizations: ['5DLabs'], repositories: ['5dlabs/cto', '5DLABS/web'] },
        repositoryScope: { from: 'label:service' },
      }).github.organizations,
    ).toEqual(['5DLabs']);
  });

  describe('one organization, many repositories: a task id is a task of one repository', () => {
    const several = { github: { organizations: ['5dlabs'], repositories: ['5dlabs/cto', '5dlabs/web'] } };
    test.each([
      [several, 'repositoryScope.from: unset while ["5dlabs/cto","5dlabs/web"] allows several repositories'],
      [{ github: { organizations: ['5dlabs'], repositories: ['5dlabs/*'] } }, 'repositoryScope.from: unset while ["5dlabs/*"]'],
      [
        { github: { repositories: ['5dlabs/*'] }, repositoryScope: { from: 'label:service' } },
        'github.repositories: "5dlabs/*" needs its owner in github.organizations',
      ],
      [
        { ...several, repositoryScope: { from: 'label:service', format: '{owner}/{name}' } },
        'repositoryScope.format: "{owner}/{name}" cannot give a label value',
      ],
      [
        { github: { organizations: ['a', 'b'], repositories: ['a/x', 'b/y'] }, repositoryScope: { from: 'label:service' } },
        'repositoryScope.format: "{name}" has no {owner} while several owners are allowed',
      ],
      [{ ...several, repositoryScope: { from: 'spec.repositoryUrl' } }, 'repositoryScope.from: "spec.repositoryUrl" must match pattern'],
      [
        { ...several, repositoryScope: { from: 'label:service', format: 'github' } },
        'repositoryScope.format: "github" cannot be read from a label',
      ],
      [
        { ...several, repositoryScope: { from: 'field:spec.repositoryUrl', format: 'github', host: 'https://ghe.example.com' } },
        'repositoryScope.host: "https://ghe.example.com" must match pattern',
      ],
      [{ ...several, repositoryScope: { from: 'field:spec.repositoryUrl', format: 'owner/name' } }, 'repositoryScope.format: "owner/name"'],
    ])('refuses %j', (input, message) => {
      expect(issuesOf(input).join('\n')).toContain(message);
    });

    test.each([
      [{ ...several, repositoryScope: { from: 'label:service' } }],
      [
        {
          github: { organizations: ['5dlabs'], repositories: ['5dlabs/*'] },
          repositoryScope: { from: 'field:spec.repositoryUrl', format: 'https://github.com/{owner}/{name}' },
        },
      ],
      [{}],
    ])('accepts %j', (input) => {
      expect(() => resolveConfig(input)).not.toThrow();
    });
  });

  test('a label description of exactly 100 characters, as GitHub allows, is accepted', () => {
    expect(
      resolveConfig({ github: { remediationLabel: { description: 'é'.repeat(100) } } }).github.remediationLabel.description,
    ).toHaveLength(100);
  });

  test('the RemediationJob construct refuses a label description GitHub would refuse, naming the prop and value', () => {
    const labels = { readyForQa: 'ready-for-qa', remediation: 'remediation-in-progress', remediationColor: 'd93f0b' };
    const props = (remediationDescription: string) => ({
      namespace: 'ns',
      codeRun: { group: 'platform.5dlabs.com', version: 'v1', plural: 'coderuns' },
      qaSelector: { key: 'agent-type', values: ['cleo', 'tess'] },
      implementationAgent: { key: 'agent-type', value: 'rex' },
      taskIdLabel: 'task-id',
      repositories: ['5dlabs/cto'],
      labels: { ...labels, remediationDescription },
      githubTokenSecret: { name: 'gh', key: 'token' },
    });
    const chart = Testing.chart();
    expect(() => new RemediationJob(chart, 'Long', props('y'.repeat(101)))).toThrow(
      `labels.remediationDescription: "${'y'.repeat(101)}" has 101 characters; GitHub allows at most 100`,
    );
    expect(() => new RemediationJob(chart, 'Fits', props('y'.repeat(100)))).not.toThrow();
  });

  test('rejects a selector that could match the implementation agent', () => {
    expect(issuesOf({ qaSelector: { values: ['cleo', 'rex'] } })).toEqual([
      'qaSelector.values: ["cleo","rex"] includes the implementation agent "rex" (expected only QA agents, never agent-type=rex)',
    ]);
  });

  describe('the RemediationJob construct applies the same rules to its own props', () => {
    const props = JOB_PROPS;
    const make = (over: object) => () => new RemediationJob(Testing.chart(), 'Job', { ...props, ...over });

    test('a selector that includes the implementation agent is refused, naming the field and the value', () => {
      expect(make({ qaSelector: { key: 'agent-type', values: ['cleo', 'rex'] } })).toThrow(
        'qaSelector.values: ["cleo","rex"] includes the implementation agent "rex" (expected only QA agents, never agent-type=rex)',
      );
    });

    test('a selector on the task-id label, or with no agents, is refused', () => {
      expect(make({ qaSelector: { key: 'task-id', values: ['cleo'] } })).toThrow('taskIdLabel: "task-id" is also qaSelector.key');
      expect(make({ qaSelector: { key: 'agent-type', values: [] } })).toThrow('qaSelector.values: [] must name at least one QA agent');
    });

    test('a Job deadline not above the lock wait plus the GitHub deadline is refused, defaults included', () => {
      const { activeDeadlineSeconds, lockWaitSeconds, githubDeadlineSeconds } = DEFAULTS.job;
      const floor = lockWaitSeconds + githubDeadlineSeconds;
      expect(make({ activeDeadline: Duration.seconds(floor) })).toThrow(
        `activeDeadline: ${floor} is not above lockWaitSeconds + githubDeadlineSeconds (${floor})`,
      );
      // The default deadline against a GitHub deadline that leaves it too short.
      const githubDeadline = activeDeadlineSeconds - lockWaitSeconds + 20;
      expect(make({ githubDeadline: Duration.seconds(githubDeadline) })).toThrow(
        `activeDeadline: ${activeDeadlineSeconds} is not above lockWaitSeconds + githubDeadlineSeconds (${activeDeadlineSeconds + 20})`,
      );
      expect(make({ activeDeadline: Duration.seconds(floor + 1) })).not.toThrow();
    });

    test('the construct builds the selector, always excluding the implementation agent', () => {
      const job = make({ qaSelector: { key: 'workflow-stage', values: ['quality', 'testing'] } })();
      expect(job.qaSelector).toBe('workflow-stage in (quality,testing),agent-type!=rex');
      const env = job.manifest.spec.template.spec.containers[0].env.find((e: any) => e.name === 'AC_QA_SELECTOR');
      expect(env.value).toBe('workflow-stage in (quality,testing),agent-type!=rex');
    });
  });

  test('rejects a selector whose key is the task-id label', () => {
    expect(issuesOf({ qaSelector: { key: 'task-id' } })[0]).toContain('taskIdLabel: "task-id" is also qaSelector.key');
  });

  test('always excludes the implementation agent, even on another label key', () => {
    const c = resolveConfig({ qaSelector: { key: 'workflow-stage', values: ['quality', 'testing'] } });
    expect(qaSelectorString(c)).toBe(`workflow-stage in (quality,testing),${EXCLUDE_DEFAULT_AGENT}`);
  });

  test('ordering reaches the Job and the reconciler: clock skew in seconds, the revision source as the Job reads it', () => {
    const objects = synth({
      ordering: { clockSkewSeconds: 2, revision: 'field:spec.commitSha' },
      github: { botCommitAuthors: ['rex@5dlabs.ai'] },
    });
    const job = find(objects, 'Sensor').spec.triggers[0].template.k8s.source.resource.spec.template.spec.containers[0];
    const cron = find(objects, 'CronJob').spec.jobTemplate.spec.template.spec.containers[0];
    const env = (c: any) => Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    for (const c of [job, cron]) expect(env(c)).toMatchObject({ AC_CLOCK_SKEW_SECONDS: '2', AC_REVISION_FROM: 'field:spec.commitSha' });
    expect(env(cron).AC_BOT_COMMIT_AUTHORS).toBe('rex@5dlabs.ai');
    // Defaults: the default margin, no revision tracking.
    const defaults = find(synth(), 'Sensor').spec.triggers[0].template.k8s.source.resource.spec.template.spec.containers[0];
    expect(env(defaults)).toMatchObject({ AC_CLOCK_SKEW_SECONDS: String(DEFAULTS.ordering.clockSkewSeconds) });
    expect(env(defaults).AC_REVISION_FROM ?? '').toBe(DEFAULTS.ordering.revision);
  });

  test.each([
    [() => CodeRunLocation.label('Not A Key'), 'label: "Not A Key" is not a label key'],
    [() => CodeRunLocation.field('commitSha'), 'field: "commitSha" is not a dotted field path such as spec.commitSha'],
    [
      () => CodeRunLocation.parse('ordering.revision', 'label:Not A Key'),
      'ordering.revision: "label:Not A Key" is not label:<key>, annotation:<key> or field:<path>',
    ],
    [() => CodeRunLocation.parse('ordering.revision', 'label:-x'), 'ordering.revision.label: "-x" is not a label key'],
    [
      () => CodeRunLocation.parse('ordering.revision', 'spec.sha'),
      'ordering.revision: "spec.sha" is not label:<key>, annotation:<key> or field:<path>',
    ],
  ])('CodeRunLocation checks its input: %#', (make, message) => {
    expect(make).toThrow(message);
  });

  test('CodeRunLocation round-trips through its text form', () => {
    expect(String(CodeRunLocation.parse('f', 'annotation:agents.platform/revision'))).toBe('annotation:agents.platform/revision');
    expect(CodeRunLocation.parse('f', '')).toBeUndefined();
  });

  test('rejects a Job deadline shorter than its own retries', () => {
    expect(issuesOf({ job: { activeDeadlineSeconds: 100 } })[0]).toContain('job.activeDeadlineSeconds: 100 is not above');
  });

  test.each([
    ['github:\n  bots: ["5DLabs-Rex bot"]\n', 'github.bots[0]: "5DLabs-Rex bot" must match pattern'],
    [
      'github:\n  organizations: [5dlabs]\n  repositories: [5dlabs/cto, 5dlabs/web]\n',
      'repositoryScope.from: unset while ["5dlabs/cto","5dlabs/web"] allows several repositories (task ids are per repository',
    ],
  ])('bad config fails synth with the field and value, and leaves dist untouched: %j', (yaml, message) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-synth-'));
    const outdir = path.join(dir, 'dist');
    fs.mkdirSync(outdir);
    fs.writeFileSync(path.join(outdir, 'keep.yaml'), 'kept: true\n');
    const config = path.join(dir, 'bad.yaml');
    fs.writeFileSync(config, yaml);
    let stderr = '';
    try {
      execFileSync('node', [path.join(repoRoot, 'lib/src/main.js')], {
        env: { ...process.env, AGENT_CANCELLATION_CONFIG: config, CDK8S_OUTDIR: outdir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e: any) {
      stderr = e.stderr.toString();
      expect(e.status).toBe(1);
    }
    expect(stderr).toContain(message);
    expect(fs.readdirSync(outdir)).toEqual(['keep.yaml']);
  });
});

describe('operator control', () => {
  const envOf = (objects: Record<string, any>[], kind: 'Sensor' | 'CronJob') => {
    const o = find(objects, kind);
    const container =
      kind === 'Sensor'
        ? o.spec.triggers[0].template.k8s.source.resource.spec.template.spec.containers[0]
        : o.spec.jobTemplate.spec.template.spec.containers[0];
    return Object.fromEntries(container.env.map((e: any) => [e.name, e.value]));
  };

  test('the mode and the opt-out label reach the Job and the reconciler, the defaults and a configured value alike', () => {
    const defaults = synth();
    const objects = synth({ mode: 'observe', github: { optOutLabel: 'hold' } });
    for (const kind of ['Sensor', 'CronJob'] as const) {
      expect([kind, envOf(defaults, kind)]).toMatchObject([
        kind,
        { AC_MODE: DEFAULTS.mode, AC_OPT_OUT_LABEL: DEFAULTS.github.optOutLabel },
      ]);
      expect([kind, envOf(objects, kind)]).toMatchObject([kind, { AC_MODE: 'observe', AC_OPT_OUT_LABEL: 'hold' }]);
    }
  });

  test('a mode that is not one of the two is refused with the value', () => {
    expect(issuesOf({ mode: 'shadow' })).toEqual(['mode: "shadow" must be one of ["enforce","observe"]']);
    expect(issuesOf({ github: { optOutLabel: 'a,b' } })[0]).toMatch(/^github\.optOutLabel: "a,b" must match pattern/);
  });

  test('the RemediationJob construct refuses a mode outside the enum, naming it', () => {
    const chart = Testing.chart();
    const props = {
      namespace: 'ns',
      codeRun: { group: 'g', version: 'v1', plural: 'coderuns' },
      qaSelector: { key: 'a', values: ['b'] },
      implementationAgent: { key: 'a', value: 'c' },
      taskIdLabel: 'task-id',
      repositories: ['o/r'],
      labels: { readyForQa: 'r', remediation: 'm', remediationColor: 'd93f0b', remediationDescription: '' },
      githubTokenSecret: { name: 's', key: 'k' },
      mode: JobMode.IMAGE,
    };
    expect(() => new RemediationJob(chart, 'Job', { ...props, remediationMode: 'shadow' as any })).toThrow(
      'remediationMode: "shadow" must be one of enforce, observe',
    );
  });
});

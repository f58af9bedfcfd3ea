import { EVENT_ENV, STATIC_ENV } from '../job-env';

/** Everything one run needs, read from the environment and checked before anything is touched. */
export interface JobInput {
  readonly repository: string;
  readonly owner: string;
  readonly name: string;
  readonly branch: string;
  readonly headSha: string;
  readonly deliveryId: string;
  readonly taskId: string;
  readonly namespace: string;
  readonly runId: string;
  readonly codeRun: { readonly group: string; readonly version: string; readonly plural: string };
  /** The QA selector AND the task-id term: what one delete-collection call removes. */
  readonly selector: string;
  readonly labels: {
    readonly ready: string;
    readonly remediation: string;
    readonly color: string;
    readonly description: string;
  };
  readonly graphqlUrl: string;
  readonly token: string;
  readonly deadlineSeconds: number;
  readonly requestTimeoutMs: number;
  readonly leaseDurationSeconds: number;
  readonly lockWaitSeconds: number;
  readonly skipExitCode: number;
}

/** Bad input: never retried, nothing changed. */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const v = env[name];
  if (v === undefined || v.trim() === '') throw new BadInputError(`${name} is missing or empty`);
  return v.trim();
}

function matching(env: Env, name: string, re: RegExp, expected: string): string {
  const v = required(env, name);
  if (!re.test(v)) throw new BadInputError(`${name}=${JSON.stringify(v)} is not ${expected}`);
  return v;
}

function integer(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new BadInputError(`${name}=${JSON.stringify(raw)} is not an integer >= ${min}`);
  return n;
}

const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_KEY = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Reads the env contract of src/job-env.ts; throws BadInputError naming the variable and its value. */
export function readInput(env: Env): JobInput {
  const repository = matching(env, EVENT_ENV.repository, /^[A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100}$/, 'owner/name');
  const allowed = required(env, STATIC_ENV.allowedRepositories)
    .split(',')
    .map((r) => r.trim().toLowerCase())
    .filter(Boolean);
  if (!allowed.includes(repository.toLowerCase())) {
    throw new BadInputError(`${EVENT_ENV.repository}=${JSON.stringify(repository)} is not one of ${STATIC_ENV.allowedRepositories} (${allowed.join(',')})`);
  }
  const [owner, name] = repository.split('/');
  const taskId = matching(env, EVENT_ENV.taskId, /^[0-9]{1,18}$/, 'a number');
  if (!LABEL_VALUE.test(taskId)) throw new BadInputError(`${EVENT_ENV.taskId}=${JSON.stringify(taskId)} is not a label value`);
  const taskIdLabel = matching(env, STATIC_ENV.taskIdLabel, LABEL_KEY, 'a label key');
  const qaSelector = required(env, STATIC_ENV.qaSelector);
  const url = required(env, STATIC_ENV.githubGraphqlUrl);
  if (!/^https?:\/\/\S+$/.test(url)) throw new BadInputError(`${STATIC_ENV.githubGraphqlUrl}=${JSON.stringify(url)} is not an http(s) URL`);
  return {
    repository,
    owner,
    name,
    branch: matching(env, EVENT_ENV.branch, /^[^\s~^:?*[\\]+$/, 'a branch name'),
    headSha: matching(env, EVENT_ENV.headSha, /^[0-9a-f]{40}([0-9a-f]{24})?$/, 'a commit SHA').toLowerCase(),
    deliveryId: matching(env, EVENT_ENV.deliveryId, /^[A-Za-z0-9._-]{1,100}$/, 'a delivery id'),
    taskId,
    namespace: matching(env, STATIC_ENV.namespace, DNS_LABEL, 'a namespace name'),
    runId: env[STATIC_ENV.runId]?.trim() || `run-${process.pid}-${Date.now()}`,
    codeRun: {
      group: required(env, STATIC_ENV.codeRunGroup),
      version: required(env, STATIC_ENV.codeRunVersion),
      plural: matching(env, STATIC_ENV.codeRunPlural, DNS_LABEL, 'a resource plural'),
    },
    selector: `${qaSelector},${taskIdLabel}=${taskId}`,
    labels: {
      ready: required(env, STATIC_ENV.labelReady),
      remediation: required(env, STATIC_ENV.labelRemediation),
      color: matching(env, STATIC_ENV.labelRemediationColor, /^[0-9a-fA-F]{6}$/, 'a 6-digit hex colour'),
      description: env[STATIC_ENV.labelRemediationDescription] ?? '',
    },
    graphqlUrl: url,
    token: required(env, STATIC_ENV.githubToken),
    deadlineSeconds: integer(env, STATIC_ENV.deadlineSeconds, 300, 1),
    requestTimeoutMs: integer(env, STATIC_ENV.githubRequestTimeoutMs, 20_000, 100),
    leaseDurationSeconds: integer(env, STATIC_ENV.leaseDurationSeconds, 60, 1),
    lockWaitSeconds: integer(env, STATIC_ENV.lockWaitSeconds, 120, 0),
    skipExitCode: integer(env, STATIC_ENV.skipExitCode, 3, 0),
  };
}

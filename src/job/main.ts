import * as fs from 'fs';
import githubAppJwt from 'universal-github-app-jwt';
import { EXIT } from '../contract/env';
import { GitHubApi, GitHubError } from './github/github';
import { GraphqlGitHub } from './github/github-client';
import { AppTokens, restApiUrl } from './github/github-app';
import { AppGitHub } from './github/github-app-client';
import { webhookSender } from './reconcile/alert';
import { BadInputError, JobInput, readInput, readReconcileInput, StaticInput } from './input';
import { HttpKubeApi, KubeError, loadConnection } from './kube/kube';
import { jsonLogger, Logger } from './log';
import { reserveSlot } from './kube/pace';
import { ownRuns, qaRestartedAfterPush, rulesFor, splitRuns } from './event/ordering';
import { reconcile } from './reconcile/pass';
import { deliveriesApi, leaseCursorStore, redeliverFailed } from './reconcile/redeliver';
import { remediate } from './event/remediate';
import { RetryableError } from './retry';

const USAGE = `usage: remediation-job [run|--dry-run|reconcile|--help]

Cancels one task's QA CodeRuns and flips its PR from ready-for-qa to remediation-in-progress,
for one push described by the environment (see the README's env reference).

  run        do it (default)
  --dry-run  resolve the PR and list the CodeRuns it would cancel; change nothing
  reconcile  one reconcile pass over every PR's state: resume, repair, compensate, alert, collect
  --help     this text

exit codes: 0 done, 3 nothing to do (AC_SKIP_EXIT_CODE overrides), 64 bad input,
            75 retryable failure (reconcile: some repair failed), 78 needs attention`;

/** Kubernetes shows this file in the pod status: the outcome without reading logs. */
function terminationMessage(text: string): void {
  try {
    fs.writeFileSync('/dev/termination-log', text);
  } catch {
    // Not in a pod.
  }
}

function exitCodeOf(e: unknown): number {
  if (e instanceof BadInputError) return EXIT.badInput;
  if (e instanceof RetryableError) return EXIT.retryable;
  if (e instanceof KubeError && (e.status === 409 || e.status === 429)) return EXIT.retryable;
  if (e instanceof GitHubError || e instanceof KubeError) return EXIT.needsAttention;
  return EXIT.retryable;
}

function failed(e: unknown, log: Logger): number {
  const code = exitCodeOf(e);
  log('error', { error: (e as Error).message, exitCode: code });
  terminationMessage(`exit ${code}: ${(e as Error).message}`);
  return code;
}

async function dryRun(input: JobInput, deps: ReturnType<typeof clients>): Promise<void> {
  const { kube, github, log } = deps;
  const resolved = await github.resolve(input.owner, input.name, input.branch, input.labels);
  const listed = await kube.list(input.namespace, input.codeRun, input.selector);
  const { mine, unreadable } = ownRuns(listed, input.scope, input.repositories, input.repository);
  const { stale, kept } = splitRuns(mine, input, rulesFor(input.event, input.ordering));
  log('dry-run', {
    pr: resolved.pr?.number ?? null,
    branchHead: resolved.branchHead,
    superseded: resolved.branchHead !== input.headSha,
    labels: resolved.pr?.labels.map((l) => l.name) ?? [],
    qaRestartedAfterPush: resolved.pr ? qaRestartedAfterPush(resolved.pr.readyLabeledAt, input.pushedAtMs) : false,
    selector: input.selector,
    wouldDelete: stale.map((r) => r.metadata.name),
    kept: [...kept, ...unreadable],
  });
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0] ?? 'run';
  if (command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.done;
  }
  if (command === 'reconcile') return reconcileOnce();
  if (command !== 'run' && command !== '--dry-run') {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
    return EXIT.badInput;
  }
  let log: Logger = jsonLogger({});
  try {
    const input = readInput(process.env);
    log = jsonLogger({
      repository: input.repository,
      task: input.taskId,
      event: input.event,
      sha: input.headSha,
      delivery: input.deliveryId,
      run: input.runId,
      mode: input.mode,
    });
    const deps = clients(input, log);
    try {
      // An App's token first: a refused App changes nothing.
      await deps.github.prepare?.([input.repository]);
      if (command === '--dry-run') {
        await dryRun(input, deps);
        return EXIT.done;
      }
      const outcome = await remediate(input, deps);
      terminationMessage(JSON.stringify(outcome));
      return outcome.kind === 'nothing-to-do' ? input.skipExitCode : EXIT.done;
    } finally {
      await deps.revoke();
    }
  } catch (e) {
    return failed(e, log);
  }
}

/** The run's clients, all on the one real clock (the only place the runtime reads it); `revoke` ends the run's App tokens. */
function clients(
  input: StaticInput,
  log: Logger,
): { kube: HttpKubeApi; github: GitHubApi; log: Logger; now: () => number; revoke: () => Promise<void> } {
  const now = Date.now;
  const kube = new HttpKubeApi(loadConnection(process.env), { now });
  const graphql = {
    url: input.graphqlUrl,
    deadline: now() + input.deadlineSeconds * 1000,
    requestTimeoutMs: input.requestTimeoutMs,
    onRetry: (reason: string, waitMs: number) => log('github-retry', { reason, waitMs }),
    now,
    pace: (earliest: number) => reserveSlot(kube, { namespace: input.namespace, now }, earliest),
  };
  const { app, token } = input;
  if (!app) {
    return {
      kube,
      github: new GraphqlGitHub({ ...graphql, token: () => Promise.resolve(token!) }),
      log,
      now,
      revoke: () => Promise.resolve(),
    };
  }
  const tokens = new AppTokens({
    appId: app.appId,
    installationId: app.installationId,
    privateKey: () => readPrivateKey(app.privateKeyPath),
    apiUrl: restApiUrl(input.graphqlUrl),
    // The library sets iat 30 s before its `now` and exp 10 minutes after iat.
    sign: async (id, privateKey, iat) => (await githubAppJwt({ id, privateKey, now: iat + 30 })).token,
    deadline: graphql.deadline,
    requestTimeoutMs: input.requestTimeoutMs,
    log,
  });
  const github = new AppGitHub(
    tokens,
    (t) => new GraphqlGitHub({ ...graphql, token: () => Promise.resolve(t.token), refused: () => tokens.refused(t) }),
  );
  return { kube, github, log, now, revoke: async () => void (await github.revoke()) };
}

/** The App's key from its Secret volume; an unreadable file names the path and the error code, never content. */
function readPrivateKey(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new BadInputError(`the GitHub App private key ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function reconcileOnce(): Promise<number> {
  let log: Logger = jsonLogger({ mode: 'reconcile' });
  try {
    const input = readReconcileInput(process.env);
    log = jsonLogger({ mode: 'reconcile', run: input.runId, remediationMode: input.mode });
    const deps = clients(input, log);
    const { redelivery } = input;
    try {
      const report = await reconcile(input, {
        ...deps,
        alert: input.alertWebhookUrl ? webhookSender(input.alertWebhookUrl) : undefined,
        redeliver: redelivery
          ? () =>
              redeliverFailed(
                deliveriesApi(redelivery.restUrl, redelivery.hook, input.requestTimeoutMs),
                leaseCursorStore(deps.kube, input.namespace),
                deps.now(),
              )
          : undefined,
      });
      terminationMessage(JSON.stringify(report));
      return report.failed > 0 ? EXIT.retryable : EXIT.done;
    } finally {
      await deps.revoke();
    }
  } catch (e) {
    return failed(e, log);
  }
}

void main(process.argv.slice(2)).then((code) => process.exit(code));

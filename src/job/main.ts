import * as fs from 'fs';
import githubAppJwt from 'universal-github-app-jwt';
import { EXIT, EXIT_MEANING } from '../contract/env';
import { GitHubApi } from './github/github';
import { GraphqlGitHub } from './github/github-client';
import { AppTokens, restApiUrl } from './github/github-app';
import { AppGitHub } from './github/github-app-client';
import { deliveriesApi } from './github/deliveries';
import { DeliveriesApi } from './github/hook';
import { webhookSender } from './reconcile/alert';
import { AppSettings, JobInput, readInput, readReconcileInput, ReconcileInput, StaticInput } from './input';
import { HttpKubeApi, loadConnection } from './kube/kube';
import { jsonLogger, Logger } from './log';
import { reserveSlot } from './kube/pace';
import { ownRuns, qaRestartedAfterPush, rulesFor, splitRuns } from './event/ordering';
import { reconcile } from './reconcile/pass';
import { leaseCursorStore, redeliverFailed } from './reconcile/redeliver';
import { remediate } from './event/remediate';
import { Clock, systemClock } from './clock';
import { BadInputError, exitCodeOf } from './errors';

const USAGE = `usage: remediation-job [run|--dry-run|reconcile|--help]

Cancels one task's QA CodeRuns and flips its PR from ready-for-qa to remediation-in-progress,
for one push described by the environment (see the README's env reference).

  run        do it (default)
  --dry-run  resolve the PR and list the CodeRuns it would cancel; change nothing
  reconcile  one reconcile pass over every PR's state: resume, repair, compensate, alert, collect
  --help     this text

exit codes:
${Object.entries(EXIT_MEANING)
  .map(([key, meaning]) => `  ${String(EXIT[key as keyof typeof EXIT]).padStart(2)}  ${meaning}`)
  .join('\n')}`;

/** Kubernetes shows this file in the pod status: the outcome without reading logs. */
function terminationMessage(text: string): void {
  try {
    fs.writeFileSync('/dev/termination-log', text);
  } catch {
    // Not in a pod.
  }
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

async function main(argv: string[], clock: Clock): Promise<number> {
  const command = argv[0] ?? 'run';
  if (command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.done;
  }
  if (command === 'reconcile') return reconcileOnce(clock);
  if (command !== 'run' && command !== '--dry-run') {
    process.stderr.write(`unknown command ${JSON.stringify(command)}\n${USAGE}\n`);
    return EXIT.badInput;
  }
  let log: Logger = jsonLogger({}, clock.now);
  try {
    const input = readInput(process.env);
    log = jsonLogger(
      {
        repository: input.repository,
        task: input.taskId,
        event: input.event,
        sha: input.headSha,
        delivery: input.deliveryId,
        run: input.runId,
        mode: input.mode,
      },
      clock.now,
    );
    const deps = clients(input, log, clock);
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

/** The run's clients, all on the run's one clock; `revoke` ends the run's App tokens. */
function clients(
  input: StaticInput,
  log: Logger,
  clock: Clock,
): {
  kube: HttpKubeApi;
  github: GitHubApi;
  log: Logger;
  clock: Clock;
  deadline: number;
  revoke: () => Promise<void>;
  tokens?: AppTokens;
} {
  const kube = new HttpKubeApi(loadConnection(process.env), { clock });
  const graphql = {
    url: input.graphqlUrl,
    deadline: clock.now() + input.deadlineSeconds * 1000,
    requestTimeoutMs: input.requestTimeoutMs,
    onRetry: (reason: string, waitMs: number) => log('github-retry', { reason, waitMs }),
    clock,
    pace: (earliest: number) => reserveSlot(kube, { namespace: input.namespace, clock }, earliest),
  };
  const { app, token } = input;
  if (!app) {
    return {
      kube,
      github: new GraphqlGitHub({ ...graphql, token: () => Promise.resolve(token!) }),
      log,
      clock,
      deadline: graphql.deadline,
      revoke: () => Promise.resolve(),
    };
  }
  const tokens = appTokens(app, restApiUrl(input.graphqlUrl), input.requestTimeoutMs, log, graphql.deadline, clock);
  const github = new AppGitHub(
    tokens,
    (t) => new GraphqlGitHub({ ...graphql, token: () => Promise.resolve(t.token), refused: () => tokens.refused(t) }),
  );
  return { kube, github, log, clock, deadline: graphql.deadline, revoke: async () => void (await github.revoke()), tokens };
}

/** A GitHub App's tokens and JWTs, its key read from its file at each signature. */
function appTokens(app: AppSettings, apiUrl: string, requestTimeoutMs: number, log: Logger, deadline: number, clock: Clock): AppTokens {
  return new AppTokens({
    appId: app.appId,
    installationId: app.installationId,
    privateKey: () => readPrivateKey(app.privateKeyPath),
    apiUrl,
    // The library sets iat 30 s before its `now` and exp 10 minutes after iat.
    sign: async (id, privateKey, iat) => (await githubAppJwt({ id, privateKey, now: iat + 30 })).token,
    deadline,
    requestTimeoutMs,
    log,
    clock,
  });
}

/**
 * The hook's deliveries API: an organization's hook with its token; the App's hook with the App's JWT, signed as
 * `github.app`'s are (the same AppTokens when it is the same App).
 */
function hookDeliveries(input: ReconcileInput, deps: ReturnType<typeof clients>): DeliveriesApi | undefined {
  const { redelivery } = input;
  if (!redelivery) return undefined;
  const { hook, restUrl } = redelivery;
  let authorization: () => Promise<string>;
  if (hook.kind === 'org') authorization = () => Promise.resolve(`Bearer ${hook.token}`);
  else {
    const tokens =
      deps.tokens && input.app?.appId === hook.appId
        ? deps.tokens
        : appTokens(hook, restUrl, input.requestTimeoutMs, deps.log, deps.deadline, deps.clock);
    authorization = () => tokens.appAuthorization();
  }
  return deliveriesApi({ restUrl, hook, authorization, requestTimeoutMs: input.requestTimeoutMs });
}

/** The App's key from its Secret volume; an unreadable file names the path and the error code, never content. */
function readPrivateKey(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new BadInputError(`the GitHub App private key ${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function reconcileOnce(clock: Clock): Promise<number> {
  let log: Logger = jsonLogger({ mode: 'reconcile' }, clock.now);
  try {
    const input = readReconcileInput(process.env);
    log = jsonLogger({ mode: 'reconcile', run: input.runId, remediationMode: input.mode }, clock.now);
    const deps = clients(input, log, clock);
    const deliveries = hookDeliveries(input, deps);
    try {
      const report = await reconcile(input, {
        ...deps,
        alert: input.alertWebhookUrl ? webhookSender(input.alertWebhookUrl) : undefined,
        redeliver: deliveries
          ? () => redeliverFailed(deliveries, leaseCursorStore(deps.kube, input.namespace, input.redelivery!.cursorLease), deps.clock.now())
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

// The only place the runtime takes the machine's clock.
void main(process.argv.slice(2), systemClock).then((code) => process.exit(code));

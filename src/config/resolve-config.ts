import * as fs from 'fs';
import * as path from 'path';
import Ajv, { ErrorObject } from 'ajv';
import * as YAML from 'yaml';
import { parseLocation } from '../contract/location';
import { scopeIssues, webHost } from '../contract/repository-scope';
import { AgentCancellationConfig, ResolvedConfig } from './config';
import { DEFAULTS } from './defaults';
import { packageRoot } from './package-root';
import { deadlineIssues, selectorIssues } from './safety-rules';

/** Thrown for a configuration that must not be synthesized; `issues` name each field, value and expectation. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    super(`invalid configuration in ${source}:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const SCHEMA_PATH = path.join(packageRoot(), 'schema', 'config.schema.json');
let validator: ReturnType<Ajv['compile']> | undefined;

let schema: any;

function schemaJson(): any {
  schema ??= JSON.parse(fs.readFileSync(SCHEMA_PATH, 'utf8'));
  return schema;
}

function compiledSchema() {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: true });
    validator = ajv.compile(schemaJson());
  }
  return validator;
}

/** GitHub's limit on a label description, in characters, as the schema states it for the configuration. */
export function labelDescriptionLimit(): number {
  return schemaJson().properties.github.properties.remediationLabel.properties.description.maxLength;
}

/** `/github/bots/0` -> `github.bots[0]` */
function fieldName(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function valueAt(root: unknown, pointer: string): unknown {
  return fieldName(pointer)
    .split(/\.|\[|\]/)
    .filter(Boolean)
    .reduce<any>((v, k) => (v === undefined || v === null ? undefined : v[k]), root);
}

function describe(error: ErrorObject, input: unknown): string {
  if (error.keyword === 'additionalProperties') {
    const field = fieldName(`${error.instancePath}/${error.params.additionalProperty}`);
    return `${field}: unknown field (expected one of the documented fields)`;
  }
  const field = fieldName(error.instancePath) || '(root)';
  // A map's key (propertyNames): the key, not the whole map.
  if (error.propertyName !== undefined) return `${field}: key ${JSON.stringify(error.propertyName)} ${error.message}`;
  const expected = error.keyword === 'enum' ? `must be one of ${JSON.stringify(error.params.allowedValues)}` : error.message;
  return `${field}: ${JSON.stringify(valueAt(input, error.instancePath))} ${expected}`;
}

/** Rules a JSON schema cannot say: they keep the cancellation scoped to one task's QA agents. */
function semanticIssues(c: ResolvedConfig): string[] {
  const issues = [
    ...selectorIssues(c),
    ...deadlineIssues(c.job, 'job.activeDeadlineSeconds'),
    ...scopeIssues(
      c.github.repositories,
      { from: parseLocation(c.repositoryScope.from), format: c.repositoryScope.format, host: c.repositoryScope.host },
      'repositoryScope',
    ),
  ];
  // An existing EventSource serves whatever webhook it serves; only our own is checked against the allowlist.
  for (const repository of c.existingEventSource.name ? [] : c.github.repositories) {
    const owner = repository.split('/')[0].toLowerCase();
    if (repository.endsWith('/*') && !c.github.organizations.some((o) => o.toLowerCase() === owner)) {
      issues.push(
        `github.repositories: ${JSON.stringify(repository)} needs its owner in github.organizations (only an organization webhook delivers every repository)`,
      );
    } else if (c.github.organizations.length && !c.github.organizations.some((o) => o.toLowerCase() === owner)) {
      issues.push(
        `github.repositories: ${JSON.stringify(repository)} is in none of github.organizations ${JSON.stringify(c.github.organizations)} (its pushes would never arrive)`,
      );
    }
  }
  if (c.webhook.endpoint === '/') {
    issues.push('webhook.endpoint: "/" (expected a dedicated path such as "/agent-cancellation/github")');
  }
  return issues;
}

/**
 * An existing EventSource named by half, or beside settings only an EventSource of our own would use (a webhook
 * other than the default one, organizations), which would be ignored.
 */
function eventSourceIssues(input: AgentCancellationConfig): string[] {
  const existing = input.existingEventSource;
  if (!existing) return [];
  if (!existing.name !== !existing.eventName) {
    return [`existingEventSource: ${JSON.stringify(existing)} needs both name and eventName, or neither`];
  }
  if (!existing.name) return [];
  const owned = [
    // Compared as JSON: a resolved configuration given again carries the default webhook, which is no choice.
    JSON.stringify(withDefaults(DEFAULTS.webhook, input.webhook)) !== JSON.stringify(DEFAULTS.webhook) && 'webhook',
    input.github?.organizations?.length && 'github.organizations',
  ].filter(Boolean);
  return owned.map(
    (f) => `${f}: set while existingEventSource names ${existing.name}/${existing.eventName}, whose webhook is not made here`,
  );
}

/** `github.app` and `github.tokenSecret` both set by the user: the default token Secret never counts. */
function credentialIssues(input: unknown): string[] {
  const github = (input as AgentCancellationConfig).github;
  if (!github?.app || !github.tokenSecret) return [];
  return [
    `github.app (appId ${github.app.appId}) and github.tokenSecret (${JSON.stringify(github.tokenSecret.name)}) are exclusive: set exactly one`,
  ];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `input` over `defaults`: objects merge field by field; anything else, lists too, replaces the default. */
function withDefaults(defaults: unknown, input: unknown): unknown {
  if (input === undefined) return structuredClone(defaults);
  if (!isObject(defaults) || !isObject(input)) return input;
  const keys = new Set([...Object.keys(defaults), ...Object.keys(input)]);
  return Object.fromEntries([...keys].map((k) => [k, withDefaults(defaults[k], input[k])]));
}

/**
 * Validates a parsed configuration and applies its defaults (DEFAULTS). Throws ConfigError listing every problem;
 * the input is not modified.
 */
export function resolveConfig(input: unknown, source = 'configuration'): ResolvedConfig {
  const candidate = input === undefined || input === null ? {} : structuredClone(input);
  const validate = compiledSchema();
  if (!validate(candidate)) {
    throw new ConfigError(
      source,
      (validate.errors ?? []).filter((e) => e.keyword !== 'propertyNames').map((e) => describe(e, input)),
    );
  }
  const early = [...credentialIssues(candidate), ...eventSourceIssues(candidate)];
  if (early.length) throw new ConfigError(source, early);
  // An App replaces the default token Secret: only one credential reaches the Job.
  const defaults = (candidate as AgentCancellationConfig).github?.app
    ? { ...DEFAULTS, github: { ...DEFAULTS.github, tokenSecret: undefined } }
    : DEFAULTS;
  const withEvents = withDefaults(defaults, candidate) as Omit<ResolvedConfig, 'eventsNamespace'> & AgentCancellationConfig;
  const scope = withEvents.repositoryScope;
  const resolved = {
    ...withEvents,
    eventsNamespace: withEvents.eventsNamespace ?? withEvents.namespace,
    repositoryScope: { ...scope, host: scope.host || webHost(withEvents.github.graphqlUrl) },
  } as ResolvedConfig;
  const issues = semanticIssues(resolved);
  if (issues.length) throw new ConfigError(source, issues);
  return resolved;
}

/** Reads and resolves a YAML configuration file. */
export function loadConfigFile(file: string): ResolvedConfig {
  let parsed: unknown;
  try {
    parsed = YAML.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ConfigError(file, [`(file): ${(e as Error).message}`]);
  }
  return resolveConfig(parsed, file);
}

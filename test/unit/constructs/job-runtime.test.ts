/** The Node.js the tests run the Job on is the one its image runs, and the bundle is built for it. */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_NODE_IMAGE, EXIT } from '../../../src';
import { BUNDLE, jobNode } from '../../fixtures/run-job';
import { repoRoot } from './synth-helpers';

const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const imageMajor = /^node:(\d+)-/.exec(DEFAULT_NODE_IMAGE)![1];

test('the default image, the Dockerfile and the tests run one Node.js major', () => {
  expect(fs.readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8')).toContain(`ARG NODE_IMAGE=${DEFAULT_NODE_IMAGE}\n`);
  expect(execFileSync(jobNode(), ['--version'], { encoding: 'utf8' })).toMatch(new RegExp(`^v${imageMajor}\\.`));
  expect(pkg.devDependencies.node).toMatch(new RegExp(`^${imageMajor}\\.`));
});

test('the bundle targets that major, and engines asks for it', () => {
  expect(pkg.scripts.bundle).toContain(`--target=node${imageMajor} `);
  expect(pkg.engines.node).toBe(`>=${imageMajor}`);
});

test('the bundle starts on it and rejects an empty environment as bad input', () => {
  const r = spawnSync(jobNode(), [BUNDLE, 'run'], { env: {}, encoding: 'utf8' });
  expect(r.stdout).toContain('"step":"error"');
  expect(r.status).toBe(EXIT.badInput);
});

import * as fs from 'fs';
import * as path from 'path';
import { CLUSTER_ENV } from './cluster';

export default async function globalTeardown(): Promise<void> {
  await globalThis.__acControlPlane?.stop();
  const file = process.env[CLUSTER_ENV];
  if (file) fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

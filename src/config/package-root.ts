import * as fs from 'fs';
import * as path from 'path';

/** The directory of this package's package.json, whether running from src/ (ts-node, Jest) or lib/src/. */
export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

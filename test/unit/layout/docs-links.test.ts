/**
 * Every relative link in README.md and docs/ resolves: the file exists, and a `#anchor` names a heading of the
 * page it points to, slugged as GitHub does. Links to other sites are not fetched.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repoRoot = path.resolve(__dirname, '..', '..', '..');

/** The Markdown pages checked: README.md and every .md under docs/, relative to `root`. */
function pages(root: string): string[] {
  const docs = path.join(root, 'docs');
  const under = fs.existsSync(docs)
    ? fs
        .readdirSync(docs, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.md'))
        .map((f) => path.join('docs', f))
    : [];
  return ['README.md', ...under.sort()];
}

/** The page's lines outside fenced code blocks, with inline code spans blanked. */
function prose(markdown: string): string[] {
  let fence: string | undefined;
  const lines: string[] = [];
  for (const line of markdown.split('\n')) {
    const opener = /^\s*(```+|~~~+)/.exec(line);
    if (fence === undefined && opener) fence = opener[1];
    else if (fence !== undefined && opener && opener[1].startsWith(fence)) fence = undefined;
    else if (fence === undefined) lines.push(line);
  }
  return lines;
}

/** GitHub's heading anchors: lower case, punctuation dropped (hyphens and underscores kept), spaces to hyphens. */
export function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/\*+/g, '');
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings; a repeated heading gets `-1`, `-2`, … as on GitHub. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(markdown)) {
    const m = /^ {0,3}#{1,6}\s+(.*?)(\s+#+)?\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    result.add(n === 0 ? base : `${base}-${n}`);
  }
  return result;
}

/** The link targets of a page: inline links and images, and reference definitions, outside code. */
function targets(markdown: string): string[] {
  const found: string[] = [];
  for (const line of prose(markdown)) {
    const text = line.replace(/(`+)[^`]*?\1/g, '');
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) found.push(m[1]);
    const def = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/.exec(text);
    if (def) found.push(def[1]);
  }
  return found;
}

/** Every relative link under `root` that does not resolve, as `page: target (why)`. */
export function brokenLinks(root: string): string[] {
  const broken: string[] = [];
  for (const page of pages(root)) {
    const markdown = fs.readFileSync(path.join(root, page), 'utf8');
    for (const target of targets(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      const [file, anchor] = decodeURI(target).split('#', 2);
      const resolved = file === '' ? path.join(root, page) : path.resolve(path.dirname(path.join(root, page)), file);
      if (!resolved.startsWith(root + path.sep) || !fs.existsSync(resolved)) {
        broken.push(`${page}: ${target} (no such file)`);
      } else if (anchor !== undefined) {
        if (!resolved.endsWith('.md') || fs.statSync(resolved).isDirectory()) {
          broken.push(`${page}: ${target} (an anchor into a file that is not Markdown)`);
        } else if (!anchors(fs.readFileSync(resolved, 'utf8')).has(anchor)) {
          broken.push(`${page}: ${target} (no such heading)`);
        }
      }
    }
  }
  return broken;
}

test('every relative link in README.md and docs/ resolves, anchors included', () => {
  expect(pages(repoRoot).length).toBeGreaterThan(1);
  expect(brokenLinks(repoRoot)).toEqual([]);
});

test('headings are slugged as GitHub does: punctuation and code marks dropped, repeats numbered', () => {
  expect(slug("The Job's environment")).toBe('the-jobs-environment');
  expect(slug('Logs, `--help` and `--dry-run`')).toBe('logs---help-and---dry-run');
  expect(slug('A lost webhook: the resync')).toBe('a-lost-webhook-the-resync');
  expect(slug('Set-up')).toBe('set-up');
  expect(slug('Use [the constructs](x.md) from npm')).toBe('use-the-constructs-from-npm');
  expect([...anchors('# Title\n## Notes\n```\n## not a heading\n```\n## Notes\n')]).toEqual(['title', 'notes', 'notes-1']);
});

test('a missing file, a missing heading and an anchor into a non-Markdown file are each reported', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ac-docs-links-'));
  try {
    fs.mkdirSync(path.join(root, 'docs'));
    fs.writeFileSync(path.join(root, 'notes.txt'), 'text\n');
    fs.writeFileSync(
      path.join(root, 'README.md'),
      [
        '# Project',
        'See [the guide](docs/guide.md), [its set-up](docs/guide.md#set-up) and [the top](#project).',
        'Broken: [gone](docs/gone.md), [no heading](docs/guide.md#install), [notes](notes.txt#top).',
        '[site](https://example.com/missing.md) and `[code](docs/also-gone.md)` are not checked.',
        '```',
        '[fenced](docs/fenced-gone.md)',
        '```',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(root, 'docs', 'guide.md'), '# Guide\n\n## Set-up\n\nBack to [the README](../README.md#nowhere).\n');
    expect(brokenLinks(root)).toEqual([
      'README.md: docs/gone.md (no such file)',
      'README.md: docs/guide.md#install (no such heading)',
      'README.md: notes.txt#top (an anchor into a file that is not Markdown)',
      'docs/guide.md: ../README.md#nowhere (no such heading)',
    ]);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

/** The one marker comment per PR: its body as pushes add to it, and what an edit costs on GitHub. */
import { parse } from 'graphql';
import { COMMENT_MAX_CHARS, Marker, markerComment, parseMarkers } from '../../../src/job/github/github';
import { transitionMutation } from '../../../src/job/github/graphql-documents';
import { contentCreations } from '../../github-server/limits';

const push = (i: number): Marker => ({
  delivery: `d-${i}`,
  sha: String(i % 10).repeat(40),
  startedAt: `2026-12-05T10:00:${String(i % 60).padStart(2, '0')}Z`,
});
const deliveries = (body: string) => parseMarkers(body).map((m) => m.delivery);

/** The body after `n` pushes, each editing the last. */
function after(n: number, deleted: (i: number) => string[] = () => ['cleo-run', 'tess-run']): string {
  let body = '';
  for (let i = 1; i <= n; i++) body = markerComment(push(i), deleted(i), body);
  return body;
}

test('the first push writes one entry: the hidden marker and the runs it cancelled', () => {
  const body = markerComment(push(1), ['cleo-a', 'tess-b']);
  expect(body).toBe(
    '<!-- agent-cancellation {"delivery":"d-1","sha":"1111111111111111111111111111111111111111","startedAt":"2026-12-05T10:00:01Z"} -->\n' +
      'Remediation started at 2026-12-05T10:00:01Z for 111111111111: 2 QA run(s) cancelled (cleo-a, tess-b), QA will run again once the fix is ready.',
  );
  expect(parseMarkers(body)).toEqual([push(1)]);
});

test('later pushes go first, the earlier ones follow, each once', () => {
  expect(deliveries(after(3))).toEqual(['d-3', 'd-2', 'd-1']);
});

test("a body at GitHub's limit leaves out the oldest pushes and says how many; the count carries over", () => {
  const body = after(400);
  expect(body.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS);
  const shown = deliveries(body);
  expect(shown[0]).toBe('d-400');
  expect(shown).toEqual(shown.map((_, i) => `d-${400 - i}`));
  expect(body.endsWith(`\n\n_${400 - shown.length} earlier push(es) left out: GitHub limits a comment's size._`)).toBe(true);
  const next = markerComment(push(401), [], body);
  expect(next.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS);
  expect(deliveries(next)[0]).toBe('d-401');
  expect(Number(/_(\d+) earlier/.exec(next)![1]) + deliveries(next).length).toBe(401);
});

test('one push with more runs than fit names as many as fit and counts the rest', () => {
  const many = Array.from({ length: 5000 }, (_, i) => `cto-t7-quality-run-${i}`);
  const body = markerComment(push(2), many, after(1));
  expect(body.length).toBeLessThanOrEqual(COMMENT_MAX_CHARS);
  expect(body).toMatch(/5000 QA run\(s\) cancelled \(cto-t7-quality-run-0, .*, and \d+ more\)/);
  expect(deliveries(body)[0]).toBe('d-2');
});

test('markers that are not ours or not whole are skipped', () => {
  expect(parseMarkers('<!-- agent-cancellation {"delivery":1} -->\n<!-- agent-cancellation {bad -->\ntext')).toEqual([]);
});

test.each([
  [{ remove: true, add: true, comment: 'add' as const }, 1],
  [{ remove: true, add: true, comment: 'edit' as const }, 0],
  [{ remove: false, add: false, comment: 'edit' as const }, 0],
])('content creations of the transition %j: %i', (parts, n) => {
  expect(contentCreations(parse(transitionMutation(parts)))).toBe(n);
});

import { parse } from 'graphql';
import { Charge, contentCreations, GITHUB_LIMITS, RateLimiter, Refusal } from '../../github-server/limits';

const query: Charge = { points: 1, mutation: false, contents: 0 };
const marker: Charge = { points: 1, mutation: true, contents: 1 };

/** Sends `n` of `charge` at `step` ms apart from t = 0, then one more at `at`: what the last one meets. */
function after(n: number, charge: Charge, step: number, at: number, last = charge, limits = GITHUB_LIMITS.token): Refusal | undefined {
  let t = 0;
  const limiter = new RateLimiter(limits, () => t);
  for (let i = 0; i < n; i++, t += step) expect(limiter.charge(charge)).toBeUndefined();
  t = at;
  return limiter.charge(last);
}

test.each<[string, Refusal | undefined, () => Refusal | undefined]>([
  [
    '80 markers in a minute: the 81st waits until the first leaves the minute',
    { kind: 'secondary', retryAfterMs: 1000 },
    () => after(80, marker, 100, 59_000),
  ],
  ['80 markers in a minute: a query still goes', undefined, () => after(80, marker, 100, 59_000, query)],
  [
    '500 markers in an hour at 1 a second: the 501st waits for the hour',
    { kind: 'secondary', retryAfterMs: 3_600_000 - 501_000 },
    () => after(500, marker, 1000, 501_000),
  ],
  ['500 markers in an hour: on the hour, room again', undefined, () => after(500, marker, 1000, 3_600_001)],
  [
    '2,000 secondary points a minute: 400 mutations, then none',
    { kind: 'secondary', retryAfterMs: 60_000 - 39_900 },
    () => after(400, { ...marker, contents: 0 }, 100, 39_900),
  ],
  [
    '5,000 primary points an hour (token): the next waits for the reset',
    { kind: 'primary', resetAt: 3_600_000 },
    () => after(5000, query, 100, 500_000),
  ],
  ['12,500 for an App installation: 5,001 points go', undefined, () => after(5000, query, 100, 500_000, query, GITHUB_LIMITS.app)],
])('%s', (_case, expected, run) => {
  expect(run()).toEqual(expected);
});

test('content already created an hour back frees the window as it ages', () => {
  let t = 0;
  const limiter = new RateLimiter(GITHUB_LIMITS.token, () => t);
  limiter.spentBefore(500, 3_600_000 - 10_000);
  expect(limiter.charge(marker)).toEqual({ kind: 'secondary', retryAfterMs: 10_000 });
  t = 10_000;
  expect(limiter.charge(marker)).toBeUndefined();
});

test.each([
  ['mutation T { a: addComment(input: {}) { clientMutationId } b: addLabelsToLabelable(input: {}) { clientMutationId } }', 1],
  ['mutation T { removeLabelsFromLabelable(input: {}) { clientMutationId } }', 0],
  ['query Q { addComment }', 0],
])('content creations in %s: %i', (doc, n) => {
  expect(contentCreations(parse(doc))).toBe(n);
});

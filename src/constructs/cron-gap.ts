/**
 * The longest wait between two runs of a 5-field cron expression, so that an alert can say "three schedules
 * late" for any schedule. Fields as the CronJob controller reads them: numbers, ranges, steps, lists, `*` and `?`,
 * month and weekday names; a restricted day of month and day of week are alternatives, as in Vixie cron.
 */
const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
] as const;

/** Four years and a week from a leap year's start: every calendar case, 29 February included, comes round. */
const SPAN_DAYS = 4 * 366 + 7;
const START = Date.UTC(2024, 0, 1);
const DAY_MS = 86_400_000;

function fieldValues(text: string, f: (typeof FIELDS)[number], expression: string): Set<number> {
  const bad = () => new Error(`${JSON.stringify(expression)}: ${f.name} ${JSON.stringify(text)} is not a cron field`);
  const value = (v: string) => {
    const named = 'names' in f ? (f.names as readonly string[]).indexOf(v.toUpperCase()) : -1;
    const n = named >= 0 ? named + ('names' in f && f.name === 'month' ? 1 : 0) : /^\d+$/.test(v) ? Number(v) : NaN;
    if (!(n >= f.min && n <= f.max)) throw bad();
    return n;
  };
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw bad();
    const [from, to] =
      range === '*' || range === '?'
        ? [f.min, f.max]
        : range.includes('-')
          ? range.split('-').map(value)
          : [value(range), stepText === undefined ? value(range) : f.max];
    if (from > to) throw bad();
    for (let v = from; v <= to; v += step) values.add(f.name === 'day of week' && v === 7 ? 0 : v);
  }
  return values;
}

/** The longest gap between consecutive runs of `expression` (5 fields), in seconds; throws if it never runs. */
export function longestCronGapSeconds(expression: string): number {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) throw new Error(`${JSON.stringify(expression)} must be a cron expression of 5 fields`);
  const [minutes, hours, days, months, weekDays] = parts.map((p, i) => fieldValues(p, FIELDS[i], expression));
  const anyDay = (p: string) => p === '*' || p === '?';
  const dayMatches = (d: Date) => {
    const dom = days.has(d.getUTCDate());
    const dow = weekDays.has(d.getUTCDay());
    if (anyDay(parts[2]) || anyDay(parts[4])) return dom && dow;
    return dom || dow;
  };
  const times = [...hours].flatMap((h) => [...minutes].map((m) => (h * 60 + m) * 60)).sort((a, b) => a - b);
  let last: number | undefined;
  let longest = 0;
  for (let day = 0; day < SPAN_DAYS; day++) {
    const date = new Date(START + day * DAY_MS);
    if (!months.has(date.getUTCMonth() + 1) || !dayMatches(date)) continue;
    for (const t of times) {
      const at = day * 86_400 + t;
      if (last !== undefined) longest = Math.max(longest, at - last);
      last = at;
    }
  }
  if (longest === 0) throw new Error(`${JSON.stringify(expression)} runs at most once in four years`);
  return longest;
}

/** Shared helpers of the benchmarks: robust central figures and one table format. */
export function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

export const median = (values: number[]) => quantile(values, 0.5);

/** Milliseconds since `t0` (from process.hrtime.bigint()). */
export const since = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

export function heading(title: string): void {
  console.log(`\n== ${title}`);
  row('figure', 'value', 'floor / ratio');
}

/** Prints one table row: figure, value, comparison with its floor. */
export function row(name: string, value: string | number, versus = ''): void {
  console.log(`${name.padEnd(52)} ${String(value).padStart(14)}  ${versus}`);
}

export const ratio = (value: number, floor: number) => (floor > 0 ? `${(value / floor).toFixed(2)}x` : 'n/a');
export const ms = (v: number) => `${v.toFixed(0)} ms`;
export const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

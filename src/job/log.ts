/** One JSON line per step on stdout; the fields of the run are on every line. */
export type Logger = (step: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(
  context: Record<string, unknown>,
  now: () => number,
  write: (line: string) => void = (l) => process.stdout.write(l),
): Logger {
  return (step, fields = {}) => write(`${JSON.stringify({ time: new Date(now()).toISOString(), step, ...context, ...fields })}\n`);
}

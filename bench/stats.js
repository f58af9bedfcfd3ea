// Shared helpers of the benchmark scripts: robust central figures and one table format.
function quantile(values, q) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1));
  return s[i];
}
const median = (values) => quantile(values, 0.5);

/** Prints one table row: figure, value, comparison with its floor. */
function row(name, value, versus = '') {
  console.log(`${name.padEnd(48)} ${String(value).padStart(14)}  ${versus}`);
}

module.exports = { quantile, median, row };

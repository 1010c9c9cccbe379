/** Small statistics for benchmark output: every figure is a median with the spread it came from. */

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `(min-max)` of the values, with `digits` decimals. */
export function spread(values: readonly number[], digits = 1): string {
  if (values.length === 0) return '(-)';
  return `(${Math.min(...values).toFixed(digits)}-${Math.max(...values).toFixed(digits)})`;
}

/** The value after `--name` on the command line, or `fallback`. */
export function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

/** Command-line options of the benchmarks. */

/** `raw` as a positive integer, or an error naming the option `--name`. */
export function positiveInteger(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** With --help: the usage on stdout and exit 0. */
export function exitWithUsageIf(help: boolean | undefined, usage: string): void {
  if (!help) return;
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}

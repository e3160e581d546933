/** Plain-text output for operators: aligned tables, relative times, short reasons. */

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `12s ago`, `5m ago`, `in 3s`: how far `iso` is from `nowMs`. */
export function relativeTime(iso: string | null | undefined, nowMs = Date.now()): string {
  if (!iso) return '-';
  const deltaS = Math.round((Date.parse(iso) - nowMs) / 1000);
  const magnitude = Math.abs(deltaS);
  const text =
    magnitude < 120 ? `${magnitude}s` : magnitude < 7200 ? `${Math.round(magnitude / 60)}m` : magnitude < 172_800 ? `${Math.round(magnitude / 3600)}h` : `${Math.round(magnitude / 86_400)}d`;
  return deltaS > 0 ? `in ${text}` : `${text} ago`;
}

export function clip(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 3)}...` : oneLine;
}

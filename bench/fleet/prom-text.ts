/**
 * Reads the worker's Prometheus endpoint: counters and histograms by their stable base names
 * (`fleetview_refreshes`, `fleetview_refresh_lag`, ...), whatever suffix the exporter adds
 * (`_total`, a unit) and summed over label sets, and quantiles of a histogram's change over a
 * window, interpolated within buckets as PromQL's histogram_quantile does.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePromText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = sampleLine.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(labelPair)) labels[name!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of a counter over its label sets (`base` or `base_total`); null when the worker has not emitted it yet. */
export function counterTotal(samples: readonly Sample[], base: string, where: (labels: Record<string, string>) => boolean = () => true): number | null {
  const matching = samples.filter((s) => (s.name === base || s.name === `${base}_total`) && where(s.labels));
  return matching.length === 0 ? null : matching.reduce((sum, s) => sum + s.value, 0);
}

/** Sum of a gauge over its label sets; null when absent. */
export function gaugeTotal(samples: readonly Sample[], name: string, where: (labels: Record<string, string>) => boolean = () => true): number | null {
  const matching = samples.filter((s) => s.name === name && where(s.labels));
  return matching.length === 0 ? null : matching.reduce((sum, s) => sum + s.value, 0);
}

export interface Histogram {
  /** Cumulative counts by upper bound, ascending; the last bound is +Inf. */
  buckets: { le: number; count: number }[];
  count: number;
  sum: number;
}

/**
 * A histogram summed over its label sets. `base` matches `base_bucket` and `base_<unit>_bucket`
 * (exporters add units), never a longer metric name that merely starts the same way.
 */
export function histogram(samples: readonly Sample[], base: string, where: (labels: Record<string, string>) => boolean = () => true): Histogram | null {
  const family = new RegExp(`^${base}(_[a-z]+)?_bucket$`);
  const byBound = new Map<number, number>();
  let familyName: string | null = null;
  for (const s of samples) {
    if (!family.test(s.name) || !where(s.labels) || s.labels.le === undefined) continue;
    familyName ??= s.name.slice(0, -'_bucket'.length);
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
    byBound.set(le, (byBound.get(le) ?? 0) + s.value);
  }
  if (familyName === null) return null;
  const total = (suffix: string): number =>
    samples.filter((s) => s.name === `${familyName}${suffix}` && where(s.labels)).reduce((sum, s) => sum + s.value, 0);
  return {
    buckets: [...byBound.entries()].sort(([a], [b]) => a - b).map(([le, count]) => ({ le, count })),
    count: total('_count'),
    sum: total('_sum'),
  };
}

/** What was observed between two scrapes; an absent start counts as empty. */
export function histogramDelta(before: Histogram | null, after: Histogram | null): Histogram | null {
  if (after === null) return null;
  const earlier = new Map((before?.buckets ?? []).map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (earlier.get(b.le) ?? 0) })),
    count: after.count - (before?.count ?? 0),
    sum: after.sum - (before?.sum ?? 0),
  };
}

/**
 * The q-quantile, linearly interpolated inside its bucket (PromQL's histogram_quantile); a
 * quantile in the +Inf bucket is reported as the largest finite bound. Null when nothing was observed.
 */
export function histogramQuantile(h: Histogram | null, q: number): number | null {
  if (h === null || h.buckets.length === 0) return null;
  const total = h.buckets[h.buckets.length - 1]!.count;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bucket of h.buckets) {
    if (bucket.count >= rank) {
      if (bucket.le === Infinity) return lowerBound;
      const inBucket = bucket.count - lowerCount;
      return inBucket <= 0 ? bucket.le : lowerBound + ((bucket.le - lowerBound) * (rank - lowerCount)) / inBucket;
    }
    lowerBound = bucket.le;
    lowerCount = bucket.count;
  }
  return lowerBound;
}

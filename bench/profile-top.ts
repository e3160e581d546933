/**
 * The top entries of a V8 CPU profile (`*.cpuprofile`, as `npm run bench:fleet -- --worker-cpu-prof
 * DIR` writes them): self time by function and by where the code lives (fleetview's own files,
 * each npm package, Node's internals, the garbage collector, idle), so a change's effect on the
 * worker's CPU can be quoted as before/after figures rather than read off a flame chart.
 *
 *   npx tsx bench/profile-top.ts DIR/xyz.cpuprofile [N]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a frame's code lives: a package, one of our files, Node itself, or V8's pseudo-frames. */
export function placeOf(url: string, functionName: string): string {
  if (url === '') return `(${functionName || 'anonymous'})`.replace(/^\(\((.*)\)\)$/, '($1)');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const ours = /\/(src|bench|scripts|test)\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  return url;
}

/** Self time in ms per profile node: the time deltas of its samples (hit counts × the mean interval when absent). */
function selfTimes(profile: Profile): Map<number, number> {
  const self = new Map<number, number>();
  if (profile.samples && profile.timeDeltas && profile.samples.length === profile.timeDeltas.length) {
    // timeDeltas[i] is the time since the previous sample: it belongs to sample i.
    profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + Math.max(0, profile.timeDeltas![i]!) / 1000));
    return self;
  }
  const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0);
  const perHit = hits > 0 ? (profile.endTime - profile.startTime) / 1000 / hits : 0;
  for (const node of profile.nodes) self.set(node.id, (node.hitCount ?? 0) * perHit);
  return self;
}

function top(totals: Map<string, number>, n: number, wallMs: number, busyMs: number): string[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, ms]) => `${(ms / 1000).toFixed(1).padStart(8)} s  ${((100 * ms) / wallMs).toFixed(1).padStart(5)}% of wall  ${((100 * ms) / busyMs).toFixed(1).padStart(5)}% of busy  ${name}`);
}

function main(): void {
  const [file, nArg = '25'] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: npx tsx bench/profile-top.ts FILE.cpuprofile [N]\n');
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const self = selfTimes(profile);
  const byFunction = new Map<string, number>();
  const byPlace = new Map<string, number>();
  let idleMs = 0;
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') idleMs += ms;
    const place = placeOf(url, functionName);
    byPlace.set(place, (byPlace.get(place) ?? 0) + ms);
    const name = url === '' ? place : `${functionName || '(anonymous)'}  ${place}:${lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
  }
  // Inclusive time per place: a sample counts once for every place on its stack (time spent in
  // that place's code or in what it called), so "got" includes Node's http under it.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const inclusive = new Map<string, number>();
  for (const node of profile.nodes) {
    const ms = self.get(node.id) ?? 0;
    if (ms === 0 || node.callFrame.functionName === '(idle)') continue;
    const places = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)!.callFrame;
      if (frame.url !== '') places.add(placeOf(frame.url, frame.functionName));
    }
    for (const place of places) inclusive.set(place, (inclusive.get(place) ?? 0) + ms);
  }
  const wallMs = (profile.endTime - profile.startTime) / 1000;
  const busyMs = Math.max(1, wallMs - idleMs);
  byPlace.delete('(idle)');
  byFunction.delete('(idle)');
  const n = Number(nArg);
  process.stdout.write(
    [
      `${file}: ${(wallMs / 1000).toFixed(1)} s of wall time, ${(busyMs / 1000).toFixed(1)} s busy (${((100 * busyMs) / wallMs).toFixed(1)}% of one core)`,
      '',
      'self time by where the code lives:',
      ...top(byPlace, n, wallMs, busyMs),
      '',
      'time in code of each place or called from it (a sample counts for every place on its stack):',
      ...top(inclusive, n, wallMs, busyMs),
      '',
      'self time by function:',
      ...top(byFunction, n, wallMs, busyMs),
      '',
    ].join('\n'),
  );
}

main();

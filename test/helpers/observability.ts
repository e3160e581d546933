/**
 * The shipped observability files as tests read them: the Grafana dashboard's queries with its
 * variables filled in, the Prometheus rules, the metric selectors inside a PromQL expression, and
 * the anchors of a Markdown file's headings.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const dashboardPath = fileURLToPath(new URL('../../deploy/grafana/fleetview-dashboard.json', import.meta.url));
export const alertRulesPath = fileURLToPath(new URL('../../deploy/prometheus/fleetview-alerts.yml', import.meta.url));
export const runbooksPath = fileURLToPath(new URL('../../docs/runbooks.md', import.meta.url));
export const observabilityDocPath = fileURLToPath(new URL('../../docs/observability.md', import.meta.url));

interface Datasource {
  type?: string;
  uid?: string;
}

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  datasource?: Datasource;
  targets?: Array<{ expr?: string; refId: string; datasource?: Datasource }>;
  panels?: DashboardPanel[];
}

export interface DashboardVariable {
  name: string;
  type: string;
  datasource?: Datasource;
  query: { query: string } | string;
  allValue?: string;
}

export interface Dashboard {
  __inputs: Array<{ name: string; type: string; pluginId: string }>;
  panels: DashboardPanel[];
  templating: { list: DashboardVariable[] };
}

export function loadDashboard(): Dashboard {
  return JSON.parse(readFileSync(dashboardPath, 'utf8')) as Dashboard;
}

/** Every panel, those inside collapsed rows included. */
export function allPanels(dashboard: Dashboard): DashboardPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** What Grafana puts for its own variables; a query over a 1 s scrape needs windows of a few samples. */
export const grafanaBuiltins: Readonly<Record<string, string>> = { __rate_interval: '10s', __interval: '2s', __range: '5m' };

/**
 * `$name`, `${name}` and `${name:format}` replaced by `values` (Grafana's own variables by
 * `grafanaBuiltins`); a variable with no value is an error, so a new dashboard variable cannot
 * slip past the tests unfilled.
 */
export function fillVariables(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = grafanaBuiltins[name] ?? values[name];
    if (value === undefined) throw new Error(`no value for the dashboard variable ${whole}`);
    return value;
  });
}

export interface DashboardQuery {
  /** Panel title and target refId, for messages. */
  where: string;
  expr: string;
}

export function dashboardQueries(dashboard: Dashboard, values: Readonly<Record<string, string>>): DashboardQuery[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => {
      if (!target.expr) throw new Error(`panel "${panel.title}" target ${target.refId} has no expr`);
      return { where: `panel "${panel.title}" (${target.refId})`, expr: fillVariables(target.expr, values) };
    }),
  );
}

export interface PrometheusRule {
  group: string;
  /** The alert's name, or the recorded series' name. */
  name: string;
  kind: 'alert' | 'record';
  expr: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export function loadRules(): PrometheusRule[] {
  const file = parse(readFileSync(alertRulesPath, 'utf8')) as {
    groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> }> }>;
  };
  return file.groups.flatMap((group) =>
    group.rules.map((rule) => ({
      group: group.name,
      name: (rule.alert ?? rule.record)!,
      kind: rule.alert ? ('alert' as const) : ('record' as const),
      expr: rule.expr,
      labels: rule.labels ?? {},
      annotations: rule.annotations ?? {},
    })),
  );
}

const aggregations = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
/** Keywords followed by a list of label names, not of series. */
const labelListKeywords = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const keywords = new Set([...labelListKeywords, 'and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan']);

/** Index just past the bracket that closes the one at `start`, skipping quoted strings. */
function pastClosing(expr: string, start: number): number {
  const open = expr[start]!;
  const close = ({ '(': ')', '[': ']', '{': '}' } as Record<string, string>)[open]!;
  let depth = 0;
  for (let i = start; i < expr.length; i++) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') i = pastString(expr, i) - 1;
    else if (c === open) depth++;
    else if (c === close && --depth === 0) return i + 1;
  }
  throw new Error(`unbalanced ${open} at ${start} in ${expr}`);
}

function pastString(expr: string, start: number): number {
  const quote = expr[start]!;
  for (let i = start + 1; i < expr.length; i++) {
    if (expr[i] === '\\' && quote !== '`') i++;
    else if (expr[i] === quote) return i + 1;
  }
  throw new Error(`unterminated string at ${start} in ${expr}`);
}

/**
 * The series selectors of a PromQL expression (`name` or `name{matchers}`), in order: what must
 * exist for the expression to mean anything. A small scanner, enough for the expressions we ship:
 * functions, aggregations and keywords are told apart from metric names by what follows them.
 */
export function metricSelectors(expr: string): string[] {
  const selectors: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') i = pastString(expr, i);
    else if (c === '[' || c === '{') i = pastClosing(expr, i); // a range or subquery, or a selector without a name
    else if (/[0-9.]/.test(c)) i += /^[\w.]+/.exec(expr.slice(i))![0].length; // numbers and durations
    else if (/[a-zA-Z_:]/.test(c)) {
      const name = /^[a-zA-Z_:][\w:]*/.exec(expr.slice(i))![0];
      i += name.length;
      const next = /^\s*/.exec(expr.slice(i))![0].length + i;
      if (labelListKeywords.has(name) && expr[next] === '(') i = pastClosing(expr, next);
      else if (keywords.has(name) || aggregations.has(name) || expr[next] === '(') continue;
      else if (expr[next] === '{') {
        const end = pastClosing(expr, next);
        selectors.push(`${name}${expr.slice(next, end)}`);
        i = end;
      } else selectors.push(name);
    } else i++;
  }
  return selectors;
}

/** The metric name of a selector. */
export function metricName(selector: string): string {
  return /^[a-zA-Z_:][\w:]*/.exec(selector)![0];
}

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

export function markdownAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inFence = !inFence;
    const heading = !inFence && /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) anchors.add(headingAnchor(heading[1]!));
  }
  return anchors;
}

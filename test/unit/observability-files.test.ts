// The shipped dashboard, alert rules and their docs hang together: the dashboard imports as-is
// (its datasource asked for on import), every alert carries its annotations and a runbook section
// that exists, and docs/observability.md lists every metric the worker exports or the files use.
// (test/integration/observability.test.ts evaluates the expressions against a real Prometheus.)
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import {
  allPanels,
  dashboardQueries,
  loadDashboard,
  loadRules,
  markdownAnchors,
  metricName,
  metricSelectors,
  observabilityDocPath,
  repoRoot,
  runbooksPath,
} from '../helpers/observability.js';

const dashboard = loadDashboard();
const rules = loadRules();
const runbooks = readFileSync(runbooksPath, 'utf8');
const observabilityDoc = readFileSync(observabilityDocPath, 'utf8');
const importedDatasource = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };

it('the dashboard asks for its Prometheus on import and uses it everywhere', () => {
  assert.deepEqual(
    dashboard.__inputs.map((input) => [input.name, input.type, input.pluginId]),
    [['DS_PROMETHEUS', 'datasource', 'prometheus']],
  );
  const panels = allPanels(dashboard).filter((panel) => panel.type !== 'row');
  assert.ok(panels.length > 0);
  for (const panel of panels) {
    assert.deepEqual(panel.datasource, importedDatasource, `panel "${panel.title}"`);
    assert.ok(panel.targets?.length, `panel "${panel.title}" has queries`);
    for (const target of panel.targets) assert.deepEqual(target.datasource, importedDatasource, `panel "${panel.title}" target ${target.refId}`);
  }
  for (const variable of dashboard.templating.list) assert.deepEqual(variable.datasource, importedDatasource, `variable ${variable.name}`);
  const ids = allPanels(dashboard).map((panel) => panel.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
});

it('every dashboard query uses only the variables it defines, and selects series', () => {
  const variables = dashboard.templating.list.map((variable) => variable.name).sort();
  assert.deepEqual(variables, ['instance', 'job']);
  for (const query of dashboardQueries(dashboard, { job: 'fleetview', instance: '.*' })) {
    assert.ok(metricSelectors(query.expr).length > 0, `${query.where}: no series selected in ${query.expr}`);
  }
});

it('every alert has a severity, a summary, a description and a runbook section that exists', () => {
  const anchors = markdownAnchors(runbooks);
  assert.ok(rules.length > 0);
  for (const rule of rules.filter((r) => r.kind === 'alert')) {
    assert.ok(['page', 'ticket'].includes(rule.labels.severity ?? ''), `${rule.name}: severity page or ticket, got ${rule.labels.severity}`);
    assert.ok(rule.annotations.summary, `${rule.name}: summary`);
    assert.ok(rule.annotations.description, `${rule.name}: description`);
    const runbook = /^docs\/runbooks\.md#(.+)$/.exec(rule.annotations.runbook_url ?? '');
    assert.ok(runbook, `${rule.name}: runbook_url must be docs/runbooks.md#<anchor>, got ${rule.annotations.runbook_url}`);
    assert.ok(anchors.has(runbook[1]!), `${rule.name}: docs/runbooks.md has no heading with the anchor #${runbook[1]}`);
  }
  // And no runbook section for an alert that is gone.
  const alertSections = [...runbooks.matchAll(/^## (Fleetview\w+)\s*$/gm)].map((match) => match[1]).sort();
  assert.deepEqual(alertSections, rules.filter((r) => r.kind === 'alert').map((r) => r.name).sort());
});

/** Every metric the worker's code creates through a Temporal metric meter. */
function metricsCreatedInSource(): string[] {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith('.ts')) {
        for (const match of readFileSync(path, 'utf8').matchAll(/\.create(?:Counter|Histogram|Gauge|UpDownCounter)\(\s*'(\w+)'/g)) names.add(match[1]!);
      }
    }
  };
  walk(join(repoRoot, 'src'));
  return [...names].sort();
}

it('docs/observability.md lists every metric the worker creates and every metric the dashboard and the rules use', () => {
  const created = metricsCreatedInSource();
  assert.ok(created.includes('fleetview_refreshes'), `the scan finds the worker's metrics: ${created.join(', ')}`);
  const used = [...dashboardQueries(dashboard, { job: 'fleetview', instance: '.*' }).map((q) => q.expr), ...rules.map((r) => r.expr)]
    .flatMap(metricSelectors)
    .map((selector) => metricName(selector).replace(/_(bucket|sum|count)$/, ''));
  const documented = new Set([...observabilityDoc.matchAll(/^\| `(\w+)`/gm)].map((match) => match[1]));
  for (const name of new Set([...created, ...used])) assert.ok(documented.has(name), `docs/observability.md has no table row for ${name}`);
});

it('metricSelectors finds the series an expression reads, and not its functions, labels or keywords', () => {
  assert.deepEqual(
    metricSelectors('sum by (le) (rate(x_bucket{a="b{c", d=~"$e"}[5m] offset 1h)) / on (job) group_left (instance) y > bool 1e3 unless absent(z == 1)'),
    ['x_bucket{a="b{c", d=~"$e"}', 'y', 'z'],
  );
});

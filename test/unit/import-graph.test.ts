// The module layout's rules, checked on the import graph of src/ (type-only imports included):
// no import circle, domain imports only domain, workflows reach no adapters, config no adapters.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const files = new Set(sourceFiles('src'));

/** The src files a file imports (relative specifiers; `./x.js` is `./x.ts`, a folder its index). */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  return importedFiles
    .map((imported) => imported.fileName)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      const base = normalize(join(dirname(file), specifier)).replace(/\.js$/, '');
      const target = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => files.has(candidate));
      assert.ok(target, `${file} imports ${specifier}, which is no file of src`);
      return target;
    });
}

const graph = new Map([...files].map((file) => [file, importsOf(file)]));
const layer = (file: string) => relative('src', file).split('/')[0]!.replace(/\.ts$/, '');

it('src has no import circle, type-only imports included', () => {
  // Tarjan's strongly connected components: any component of more than one file is a circle.
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (file: string): void => {
    order.set(file, index);
    low.set(file, index);
    index += 1;
    stack.push(file);
    onStack.add(file);
    for (const next of graph.get(file)!) {
      if (!order.has(next)) {
        visit(next);
        low.set(file, Math.min(low.get(file)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(file, Math.min(low.get(file)!, order.get(next)!));
    }
    if (low.get(file) !== order.get(file)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== file);
    if (component.length > 1 || graph.get(file)!.includes(file)) circles.push(component.sort());
  };
  for (const file of graph.keys()) if (!order.has(file)) visit(file);
  assert.deepEqual(circles, []);
});

it('domain imports only domain; workflows and config import no adapters, not even types', () => {
  const crossings: string[] = [];
  for (const [file, imports] of graph) {
    for (const target of imports) {
      const from = layer(file);
      const to = layer(target);
      if (from === 'domain' && to !== 'domain') crossings.push(`${file} -> ${target}`);
      if ((from === 'workflows' || from === 'config') && to === 'adapters') crossings.push(`${file} -> ${target}`);
    }
  }
  assert.deepEqual(crossings, []);
});

it('the check sees the graph: it finds the imports of a known file', () => {
  assert.ok(graph.get('src/workflows/cluster-refresh.ts')!.includes('src/domain/refresh-cycle.ts'));
});

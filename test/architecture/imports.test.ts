// The import graph of src/: no circles, and no arrow up the layers
//   cli -> report -> experiments -> model, eval -> backend, tasks -> errors
// (src/cli.ts and the library entry src/index.ts sit on top with cli). Type-only and dynamic imports
// count: a circle of types is still a circle for a reader. Read from the source text, so a new file is
// covered the day it is added.
import test from 'ava';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../helpers/shared.ts';

const SRC = join(repoRoot, 'src');

/** Layer of a file by its folder under src/ (a higher number may import a lower or equal one). */
export const LAYERS: Record<string, number> = {
  'errors.ts': 0,
  backend: 1, tasks: 1,
  model: 2, eval: 2,
  experiments: 3,
  report: 4,
  cli: 5, 'cli.ts': 5, 'index.ts': 5, 'embed.ts': 5,
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative imports of a file: static (value or type), re-exports and dynamic import('...'). */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s*'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(resolve(dirname(file), m[1] ?? m[2]));
  return out;
}

const layerOf = (file: string): number => {
  const top = relative(SRC, file).split('/')[0];
  const l = LAYERS[top];
  if (l === undefined) throw new Error(`src/${top} has no layer: add it to LAYERS in test/architecture/imports.test.ts`);
  return l;
};

type Graph = Map<string, string[]>;
const graph: Graph = new Map(files(SRC).map((f) => [f, importsOf(f)]));
const rel = (f: string) => relative(repoRoot, f);

/** Imports from a file to a file of a higher layer. */
function upward(g: Graph): string[] {
  return [...g].flatMap(([f, deps]) => deps.filter((d) => g.has(d) && layerOf(d) > layerOf(f)).map((d) => `${rel(f)} -> ${rel(d)}`));
}

/** Strongly connected components of more than one file (or a file importing itself), Tarjan. */
function circles(g: Graph): string[][] {
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), stack: string[] = [], on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index); low.set(v, index); index++;
    stack.push(v); on.add(v);
    for (const w of g.get(v) ?? []) {
      if (!g.has(w)) continue;
      if (!idx.has(w)) { visit(w); low.set(v, Math.min(low.get(v)!, low.get(w)!)); } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do { w = stack.pop()!; on.delete(w); comp.push(rel(w)); } while (w !== v);
      if (comp.length > 1 || (g.get(v) ?? []).includes(v)) out.push(comp.sort());
    }
  };
  for (const v of g.keys()) if (!idx.has(v)) visit(v);
  return out;
}

test('every relative import in src/ names a file that exists', (t) => {
  const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !existsSync(d)).map((d) => `${rel(f)} -> ${rel(d)}`));
  t.deepEqual(missing, []);
});

test('no import points up a layer (cli -> report -> experiments -> model/eval -> backend/tasks -> errors)', (t) => {
  t.deepEqual(upward(graph), []);
});

test('no import circles: every strongly connected component of the graph is one file', (t) => {
  t.deepEqual(circles(graph), []);
});

test('the checks find what they look for: the import forms the source uses, a planted circle, a planted upward import', (t) => {
  t.true(importsOf(join(SRC, 'model', 'arch', 'decoder.ts')).some((d) => d.endsWith(join('backend', 'ops.ts'))), 'import type { ... } from is read');
  t.true(importsOf(join(SRC, 'cli', 'commands.ts')).some((d) => d.endsWith(join('cli', 'commands', 'sts.ts'))), "import('...') is read");
  t.true(importsOf(join(SRC, 'index.ts')).length > 0, 'export ... from is read');
  const f = (p: string) => join(SRC, p);
  const planted: Graph = new Map([
    [f('model/a.ts'), [f('model/b.ts'), f('backend/ops.ts')]],
    [f('model/b.ts'), [f('model/c.ts')]],
    [f('model/c.ts'), [f('model/a.ts'), f('report/x.ts')]],
    [f('backend/ops.ts'), []],
    [f('report/x.ts'), []],
  ]);
  t.deepEqual(circles(planted), [['src/model/a.ts', 'src/model/b.ts', 'src/model/c.ts']]);
  t.deepEqual(upward(planted), ['src/model/c.ts -> src/report/x.ts']);
});

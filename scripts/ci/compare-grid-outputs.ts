// Compares two output folders of `bellm-bench run` for the same experiment: every table of the grid
// report (ids, columns, rows), the paired-bootstrap comparisons, and every cell's results (scores, pairs,
// settings, sentence statistics; not timings, dates, paths or work counts). Exits 1 naming each difference.
//   node --import=tsx scripts/ci/compare-grid-outputs.ts DIR_A DIR_B
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [a, b] = process.argv.slice(2);
if (!a || !b) {
  process.stderr.write('usage: compare-grid-outputs.ts DIR_A DIR_B\n');
  process.exit(2);
}
const problems: string[] = [];
const read = (p: string): Record<string, unknown> => JSON.parse(readFileSync(p, 'utf8'));
const same = (where: string, x: unknown, y: unknown) => {
  const sx = JSON.stringify(x), sy = JSON.stringify(y);
  if (sx !== sy) problems.push(`${where} differs:\n    ${a}: ${sx.slice(0, 200)}\n    ${b}: ${sy.slice(0, 200)}`);
};

type Table = { id: string; columns: unknown; rows: unknown };
const ra = read(join(a, 'report', 'report.json')), rb = read(join(b, 'report', 'report.json'));
const ta = ra.tables as Table[], tb = rb.tables as Table[];
same('report table ids', ta.map((t) => t.id), tb.map((t) => t.id));
for (const t of ta) {
  const u = tb.find((x) => x.id === t.id);
  if (!u) continue;
  same(`table ${t.id}: columns`, t.columns, u.columns);
  same(`table ${t.id}: rows`, t.rows, u.rows);
}
same('bootstrap comparisons', ra.bootstrap, rb.bootstrap);

// Results of every cell, less what legitimately differs between runs.
const strip = (r: Record<string, unknown>) => {
  const { provenance: _p, timings: _t, work: _w, shard: _s, ...rest } = r;
  return rest;
};
const cellsA = readdirSync(join(a, 'cells')).sort(), cellsB = new Set(readdirSync(join(b, 'cells')));
const manifest = read(join(a, 'experiment.json')) as { cells: { id: string }[] };
let compared = 0;
for (const { id } of manifest.cells) {
  if (!cellsA.includes(id) || !cellsB.has(id)) { problems.push(`cell ${id} is missing from one of the folders`); continue; }
  same(`cell ${id} results`, strip(read(join(a, 'cells', id, 'results.json'))), strip(read(join(b, 'cells', id, 'results.json'))));
  compared++;
}
if (problems.length) {
  process.stderr.write(`grid outputs differ (${problems.length}):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`grid outputs agree: ${ta.length} report tables, ${(ra.bootstrap as unknown[]).length} bootstrap comparisons, ${compared} cells\n`);

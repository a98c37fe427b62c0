// Compares two reproduction runs (scripts/reproduce-tiny.sh) and checks the tables' shape:
//   node --import=tsx scripts/check-reproduction.ts RUN_A RUN_B
// Exits 1 naming the first difference. Timings and dates may differ; every score must not.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const [a, b] = process.argv.slice(2);
if (!a || !b) { console.error('usage: check-reproduction.ts RUN_A RUN_B'); process.exit(2); }
const COLUMNS = ['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R', 'Avg'];
const problems: string[] = [];
const files = readdirSync(a).filter((f) => f.endsWith('.json')).sort();
if (files.length !== 6) problems.push(`${a}: expected 6 results files, found ${files.length}`);

type Row = Record<string, number>;
const shape = (where: string, row: Row) => {
  const keys = Object.keys(row);
  if (JSON.stringify(keys) !== JSON.stringify(COLUMNS)) problems.push(`${where}: columns ${keys.join(' ')} are not the paper's ${COLUMNS.join(' ')}`);
  for (const c of COLUMNS) if (!Number.isFinite(row[c]) || Math.abs(row[c]) > 100) problems.push(`${where}: ${c} = ${row[c]}`);
  const avg = COLUMNS.slice(0, 7).reduce((s, c) => s + row[c], 0) / 7;
  if (Math.abs(avg - row.Avg) > 0.005 + 1e-9) problems.push(`${where}: Avg ${row.Avg} is not the mean of the seven printed numbers (${avg})`);
};
// Everything that is a result (not a timing, date or path) must be identical.
const strip = (r: Record<string, unknown>) => {
  const { provenance: _p, timings: _t, ...rest } = r;
  const work = (rest as { work?: unknown }).work;
  return JSON.stringify({ ...rest, work });
};
for (const f of files) {
  const ra = JSON.parse(readFileSync(join(a, f), 'utf8'));
  const rb = JSON.parse(readFileSync(join(b, f), 'utf8'));
  if (ra.kind === 'sts') shape(`${f}`, ra.table);
  else {
    const ks = ra.mode === 'truncate' ? '[1,2,3,4]' : '[0,1,2,3,4]';
    if (JSON.stringify(ra.rows.map((r: { k: number }) => r.k)) !== ks) problems.push(`${f}: k values are not ${ks} (${ra.mode})`);
    for (const row of ra.rows) shape(`${f} k=${row.k}`, row.table);
  }
  if (strip(ra) !== strip(rb)) problems.push(`${f}: results differ between ${a} and ${b}`);
}
for (const f of ['report.md', 'report.html', 'figures/degradation.pdf', 'tables/sts.tex']) {
  try { readFileSync(join(a, 'report', f)); } catch { problems.push(`${a}/report/${f} is missing`); }
}
if (problems.length) { for (const p of problems) console.error(p); process.exit(1); }
console.log(`reproduction: ${files.length} results files identical across two runs; tables have the paper's shape`);

// The README's promises that code can check: links resolve, the set-up commands install what CI installs,
// and the documented messages and choices match the code.
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSpeedHint } from '../../src/backend/select.ts';
import { repoRoot } from '../helpers/shared.ts';

const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const ghSlug = (h: string) => h.trim().toLowerCase().replace(/[^\w\- ]+/g, '').replace(/ /g, '-');

test('every relative link and anchor in the README resolves', (t) => {
  const anchors = new Set([...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) => ghSlug(m[1])));
  const links = [...readme.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
  t.true(links.length >= 3);
  for (const l of links) {
    if (l.startsWith('#')) t.true(anchors.has(l.slice(1)), `anchor ${l}`);
    else t.true(existsSync(join(repoRoot, l.split('#')[0])), `link ${l}`);
  }
  t.true(links.includes('reports/examples/tiny/report/report.md'), 'the example report link');
});

test('the set-up commands install the system packages CI installs (OpenBLAS for the documented speed)', (t) => {
  const block = /\*\*Set up on a fresh machine\*\*[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1];
  const ci = readFileSync(join(repoRoot, '.ci', 'run'), 'utf8');
  const pkgs = /pkgs=\(([^)]*)\)/.exec(ci)![1].trim().split(/\s+/);
  t.deepEqual(pkgs.sort(), ['fonts-dejavu-core', 'libopenblas0-pthread']);
  const install = /apt-get install -y ([^\n]+)/.exec(block)![1].split(/\s+/);
  for (const p of pkgs) t.true(install.includes(p), p);
  t.true(block.indexOf('apt-get install') < block.indexOf('npx bellm-bench sts'), 'before the first command');
  // the line the run prints without OpenBLAS is the one the README quotes
  const hint = cpuSpeedHint('cpu (js)', {})!;
  t.true(readme.replace(/\s+/g, ' ').includes(hint), hint);
  t.regex(hint, /apt-get install libopenblas0-pthread/);
});

test('documented: --batch-size only in compat mode, which mode reproduces Figure 4, the default turning point', (t) => {
  const flat = readme.replace(/\s+/g, ' ');
  t.true(flat.includes('`--batch-size` acts only in this compat mode'));
  t.regex(flat, /Which mode reproduces Figure 4:\*\* BeLLM's `eval_degradation\.py` keeps the first n layers .* `degrade --mode truncate`/);
  t.regex(flat, /The default is \*\*largest drop\*\*/);
  t.regex(flat, /not interchangeable with MTEB's\*\*: SentEval's SICK-R is the SICK test split \(4,927 pairs\)/);
  t.regex(flat, /Tar archives .* `tar-stream`/);
});

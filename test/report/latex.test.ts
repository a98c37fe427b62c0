// LaTeX (booktabs) tables and figure floats, hand-checked; every table kind the report writes renders.
import test from 'ava';
import { figureToLatex, figuresToLatex, latexEscape, tableToLatex } from '../../src/report/latex.ts';
import { bootstrapCompare } from '../../src/report/bootstrap.ts';
import { bootstrapTable, degradeTable, paperTable, settingsTable, stsTable, subsetTable } from '../../src/report/tables.ts';
import { FIGURE_SIZES } from '../../src/report/figure-style.ts';
import { handRun, syntheticDegrade, syntheticSts } from './fixtures/synthetic.ts';

const bellmLike = handRun('bellm-like', { STS12: 0.78364, STS13: 0.90876, STS14: 0.862849, STS15: 0.89891, STS16: 0.865949, 'STS-B': 0.888851, 'SICK-R': 0.831749 });
const other = handRun('other_run & 50%', { STS12: 0.80001, STS13: 0.9, STS14: 0.8551, STS15: 0.9, STS16: 0.8701, 'STS-B': 0.88, 'SICK-R': 0.8 });

test('escaping: specials, and symbols as math', (t) => {
  t.is(latexEscape('a_b & 50% #1 {x} $y ~ ^ \\'), 'a\\_b \\& 50\\% \\#1 \\{x\\} \\$y \\textasciitilde{} \\textasciicircum{} \\textbackslash{}');
  t.is(latexEscape('Δ A − B × 100 → ρ ≥ 0 — x'), '$\\Delta$ A $-$ B $\\times$ 100 $\\to$ $\\rho$ $\\geq$ 0 -- x');
  t.is(latexEscape('say "hi"'), "say {''}hi{''}");
});

test('STS table: booktabs, right-aligned numbers as printed, table* for nine columns', (t) => {
  const tex = tableToLatex(stsTable([bellmLike, other]));
  t.is(tex, [
    '% STS: Spearman correlation x100 (STS12-16: all; STS-B, SICK-R: test)',
    '% bellm-bench report; needs \\usepackage{booktabs}',
    '\\begin{table*}[t]',
    '\\centering',
    '\\small',
    '\\setlength{\\tabcolsep}{4pt}',
    '\\begin{tabular}{lrrrrrrrr}',
    '\\toprule',
    'Configuration & STS12 & STS13 & STS14 & STS15 & STS16 & STS-B & SICK-R & Avg \\\\',
    '\\midrule',
    'bellm-like & 78.36 & 90.88 & 86.28 & 89.89 & 86.59 & 88.89 & 83.17 & 86.29 \\\\',
    'other\\_run \\& 50\\% & 80.00 & 90.00 & 85.51 & 90.00 & 87.01 & 88.00 & 80.00 & 85.79 \\\\',
    '\\bottomrule',
    '\\end{tabular}',
    '\\caption{STS: Spearman correlation x100 (STS12-16: all; STS-B, SICK-R: test)}',
    '\\label{tab:sts}',
    '\\end{table*}',
    '',
  ].join('\n'));
});

test('compare-paper table: the paper row ruled off, deltas signed in math mode', (t) => {
  const tex = tableToLatex(paperTable([bellmLike, other]), { float: 'table', label: 'tab:paper-deltas' });
  const lines = tex.split('\n');
  const i = lines.indexOf('BeLLM (paper) & 78.36 & 90.88 & 86.28 & 89.89 & 86.59 & 88.89 & 83.17 & 86.29 \\\\');
  t.true(i > 0);
  t.is(lines[i + 1], '\\midrule');
  t.true(lines.includes('$\\Delta$ bellm-like $-$ paper & 0.00 & 0.00 & 0.00 & 0.00 & 0.00 & 0.00 & 0.00 & 0.00 \\\\'));
  t.true(lines.includes('$\\Delta$ other\\_run \\& 50\\% $-$ paper & $+$1.64 & $-$0.88 & $-$0.77 & $+$0.11 & $+$0.42 & $-$0.89 & $-$3.17 & $-$0.50 \\\\'));
  t.true(lines.includes('\\begin{table}[t]'));
  t.true(lines.includes('\\label{tab:paper-deltas}'));
  t.true(lines.some((l) => l.startsWith('% - Reference: BeLLM (paper)')), 'notes follow as comments');
});

test('subset, bootstrap, degradation and settings tables render; rules between tasks and before Avg', (t) => {
  const a = syntheticSts('A', 1, 0.35, 10), b = syntheticSts('B', 2, 0.25, 10);
  const sub = tableToLatex(subsetTable(a)).split('\n');
  t.is(sub.filter((l) => l === '\\midrule').length, 1 + 6, 'header rule, then one before each task after the first');
  t.true(sub.includes('STS12 & MSRpar & 10 & ' + sub.find((l) => l.startsWith('STS12 & MSRpar'))!.split(' & ').slice(3).join(' & ')));
  t.true(sub.includes('STS12 & mean & -- & ' + sub.find((l) => l.startsWith('STS12 & mean'))!.split(' & ').slice(3).join(' & ')), 'a missing n prints --');
  const boot = tableToLatex(bootstrapTable(bootstrapCompare(a, b, { resamples: 20, seed: 1 }))).split('\n');
  const avg = boot.findIndex((l) => l.startsWith('Avg & '));
  t.is(boot[avg - 1], '\\midrule');
  t.true(boot.some((l) => l.startsWith('Task & pairs & A & B & $\\Delta$ (B $-$ A) & CI low & CI high & sign flips')));
  const deg = tableToLatex(degradeTable(syntheticDegrade()));
  t.regex(deg, /\nlayers kept & STS12 & STS13 & STS14 & STS15 & STS16 & STS-B & SICK-R & Avg \\\\\n/);
  t.regex(deg, /\n1 & [\d.]+ & /);
  t.regex(deg, /% - Turning point \(--turning-point largest-drop\): k = 26/);
  const set = tableToLatex(settingsTable([{ label: 'x', settings: a.settings, file: 'f_1.json' }]));
  t.true(set.includes('The representative word for sentence \\{text\\} is:{\'\'}'));
  t.true(set.includes('f\\_1.json'));
});

test('figure floats: single column at \\columnwidth, double in figure* at \\textwidth, WxH in inches', (t) => {
  t.is(figureToLatex({ id: 'degradation', caption: 'Avg × 100; k ≥ 3', size: FIGURE_SIZES.single }, 'figures/degradation.pdf'), [
    '\\begin{figure}[t]', '\\centering', '\\includegraphics[width=\\columnwidth]{figures/degradation.pdf}',
    '\\caption{Avg $\\times$ 100; k $\\geq$ 3}', '\\label{fig:degradation}', '\\end{figure}', '',
  ].join('\n'));
  t.regex(figureToLatex({ id: 'x', caption: 'c', size: FIGURE_SIZES.double }, 'p.pdf'), /^\\begin\{figure\*\}\[t\]\n\\centering\n\\includegraphics\[width=\\textwidth\]\{p\.pdf\}/);
  t.regex(figureToLatex({ id: 'x', caption: 'c', size: { name: '4x3', width: 4 } }, 'p.pdf'), /width=4in/);
  t.regex(figuresToLatex([{ id: 'a', caption: 'c', size: FIGURE_SIZES.single }]), /graphicx[\s\S]*figures\/a\.pdf/);
});

// Figure definitions (chart.js configurations) built from results; render.ts draws them. Sizes and type
// follow figure-style.ts (print units, 7-9 pt); titles and definitions go in the caption unless
// `style.titles` (--figure-titles) puts them inside the plot too.
import type { ChartConfiguration, Plugin } from 'chart.js';
import type { SentenceStat, StsResults } from '../experiments/results/results.ts';
import type { Split } from '../tasks/split.ts';
import { AVG, fixed, stsTableRow } from './format.ts';
import { alpha, axisTitle, border, color, grid, legend, splitSuffix, splitText, ticks, titles } from './chart-kit.ts';
export { alpha, color, PALETTE } from './chart-kit.ts';
import { charsIn, DEFAULT_STYLE, FONT_PT, pt, wrapText, type FigureStyle } from './figure-style.ts';
import { paperReference } from './paper.ts';
import type { FigureSpec } from './render.ts';
import { distinctNames, slug, taskColumns } from './tables.ts';

export { degradeFigures } from './degrade-chart.ts';

/** Values written above bars, rotated, when bars are wide enough to carry 7 pt text. */
function barValuesPlugin(): Plugin {
  return {
    id: 'bbBarValues',
    afterDatasetsDraw: (chart) => {
      const { ctx } = chart;
      ctx.save();
      ctx.font = `${pt(FONT_PT.note)}px "${String(chart.options.font?.family ?? 'sans-serif')}"`;
      ctx.fillStyle = '#222';
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      chart.data.datasets.forEach((ds, i) => {
        chart.getDatasetMeta(i).data.forEach((el, j) => {
          const v = ds.data[j];
          if (typeof v !== 'number') return;
          ctx.save();
          ctx.translate(el.x, el.y - pt(1.5));
          ctx.rotate(-Math.PI / 2);
          ctx.fillText(fixed(v), 0, 0);
          ctx.restore();
        });
      });
      ctx.restore();
    },
  };
}

/** Grouped bars: tasks (and Avg) on x, one bar per configuration (BeLLM's numbers first if asked). */
export function taskBarFigure(runs: readonly StsResults[], comparePaper = false, style: FigureStyle = DEFAULT_STYLE, split?: Split): FigureSpec {
  const cols = [...taskColumns(runs.map((r) => r.tasks)), AVG];
  const series = runs.map((r) => ({ label: r.label, row: stsTableRow(r.tasks) }));
  if (comparePaper) series.unshift({ label: paperReference.label, row: paperReference.scores });
  const values = series.flatMap((s) => cols.map((c) => s.row[c]).filter((v): v is number => typeof v === 'number'));
  const lo = values.length ? Math.max(0, Math.floor((Math.min(...values) - 10) / 10) * 10) : 0;
  const hi = values.length ? Math.min(100, Math.ceil((Math.max(...values) + 8) / 5) * 5) : 100;
  // bar width in points: plot ~85% of the figure, categories 80%, bars 90% of that
  const barPt = ((style.size.width * 72 * 0.85) / cols.length) * 0.8 * 0.9 / Math.max(1, series.length);
  const showValues = barPt >= FONT_PT.note + 0.5;
  const dev = split === 'dev';
  const title = comparePaper ? 'STS per task: configurations and BeLLM (paper)' : `STS per task by configuration${dev ? ' (dev split)' : ''}`;
  const caption = `${title}. y: Spearman ×100 (${dev ? 'STS-B dev, SICK-R trial' : 'STS12-16: all; STS-B, SICK-R: test'}); Avg: mean of the printed task numbers${lo > 0 ? `; the axis starts at ${lo}, not 0` : ''}${showValues ? '' : '; values in the table'}.`;
  return {
    id: `tasks-bar${splitSuffix(split)}`,
    title, caption, size: style.size,
    config: (): ChartConfiguration => ({
      type: 'bar',
      data: {
        labels: cols,
        datasets: series.map((s, i) => ({
          label: s.label, data: cols.map((c) => s.row[c] ?? null),
          backgroundColor: comparePaper && i === 0 ? '#BBBBBB' : alpha(color(comparePaper ? i - 1 : i), 0.85),
          borderColor: comparePaper && i === 0 ? '#666666' : color(comparePaper ? i - 1 : i), borderWidth: pt(0.4),
          categoryPercentage: 0.8, barPercentage: 0.9,
        })),
      },
      options: {
        layout: { padding: { top: pt(2), left: pt(2), right: pt(3), bottom: pt(1) } },
        plugins: { legend: legend(true), ...titles(style, title) },
        scales: {
          x: { grid: { ...grid, display: false }, border, ticks: ticks({ autoSkip: false, maxRotation: 0 }) },
          y: { min: lo, max: hi, grid, border, title: axisTitle('Spearman ×100'), ticks: ticks() },
        },
      },
      plugins: showValues ? [barValuesPlugin()] : [],
    }),
  };
}

const STAT_TEXT: Record<SentenceStat['statistic'], { unit: (n: number) => string; axis: (s: SentenceStat) => string; title: string }> = {
  'pivot-spearman': {
    unit: (n) => `${n} sentences`,
    axis: () => 'pivot-spearman ρ per sentence',
    title: 'Per-sentence pivot-spearman',
  },
  'group-spearman': {
    unit: (n) => `${n} groups`,
    axis: (s) => `Spearman ρ per ${String(s.options.groupSize ?? 100)}-pair group`,
    title: 'Per-group Spearman (group-spearman)',
  },
};

/**
 * One per (statistic, task, split): a box per configuration of the statistic's values (paper Figures
 * 2, 5). pivot-spearman has one value per sentence; group-spearman one per group of pairs, and is
 * labelled so.
 */
export function boxplotFigures(runs: readonly StsResults[], statistic: SentenceStat['statistic'], style: FigureStyle = DEFAULT_STYLE): FigureSpec[] {
  const byTask = new Map<string, { label: string; stat: SentenceStat }[]>();
  for (const r of runs) {
    for (const s of r.sentenceStats ?? []) {
      if (s.statistic !== statistic) continue;
      const key = `${s.task}\u0000${splitText(s.split)}`;
      byTask.set(key, [...(byTask.get(key) ?? []), { label: r.label, stat: s }]);
    }
  }
  const text = STAT_TEXT[statistic];
  // task names come from results files: distinct (task, split) pairs get distinct files, even for a task
  // named "x-dev" beside the dev split of "x"
  const names = distinctNames([...byTask.keys()], (key) => {
    const [task, split] = key.split('\u0000');
    return `${slug(task)}${split === 'dev' ? '-dev' : ''}`;
  });
  return [...byTask].map(([key, items]) => {
    const [task, split] = key.split('\u0000');
    const taskText = `${task === 'STSBenchmark' ? 'STS-B' : task} ${split}`;
    const defs = [...new Set(items.map((it) => it.stat.definition))];
    const defText = defs.length === 1 ? `Definition: ${defs[0]}` : `Definitions differ: ${items.map((it) => `${it.label}: ${it.stat.definition}`).join(' / ')}`;
    const title = `${text.title} on ${taskText}`;
    const ns = items.map((it) => `${it.label}: ${text.unit(it.stat.values.length)}`).join(', ');
    const caption = `${title}, one box per configuration (${ns}). ${defText.replace(/\.?\s*$/, '.')} Box: quartiles and median; whiskers: 1.5 × IQR; points beyond: outliers; dot: mean.`;
    const slotIn = (style.size.width * 0.8) / Math.max(1, items.length);
    const labelChars = charsIn(slotIn, FONT_PT.tick);
    const axis = text.axis(items[0].stat);
    return {
      id: `boxplot-${slug(statistic)}-${names.get(key)!}`,
      title, caption, size: style.size,
      config: (): ChartConfiguration => ({
        type: 'boxplot',
        data: {
          labels: items.map((it) => [...wrapText(it.label, labelChars), text.unit(it.stat.values.length)]),
          datasets: [{
            label: statistic,
            data: items.map((it) => it.stat.values),
            backgroundColor: items.map((_, i) => alpha(color(i), 0.3)),
            borderColor: items.map((_, i) => color(i)),
            borderWidth: pt(0.8),
            outlierRadius: pt(1.1), outlierBackgroundColor: '#777', outlierBorderColor: '#777',
            itemRadius: 0, meanRadius: pt(1.6), meanBackgroundColor: '#222', meanBorderColor: '#222',
            coef: 1.5, quantiles: 7,
            categoryPercentage: 0.7, barPercentage: items.length <= 2 ? 0.55 : 0.8,
          }],
        } as ChartConfiguration['data'],
        options: {
          layout: { padding: { top: pt(3), left: pt(2), right: pt(3), bottom: pt(3) } },
          plugins: { legend: { display: false }, ...titles(style, title, defText) },
          scales: {
            x: { grid: { ...grid, display: false }, border, ticks: ticks({ autoSkip: false, maxRotation: 0 }) },
            // a correlation: no tick labels beyond ±1 where the padding reaches past them
            y: {
              grace: '4%', grid, border, title: axisTitle(wrapText(axis, charsIn(style.size.height * 0.85, FONT_PT.axis))),
              ticks: ticks({ callback: (v: unknown) => (Math.abs(Number(v)) <= 1 + 1e-9 ? Number(Number(v).toFixed(2)) : '') }),
            },
          },
        },
      }),
    };
  });
}

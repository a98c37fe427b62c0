// Figure definitions (chart.js configurations) built from results; render.ts draws them.
import { Chart, type ChartConfiguration, type Plugin } from 'chart.js';
import type { DegradeResults, SentenceStat, StsResults } from '../experiments/results.ts';
import { AVG, fixed, stsTableRow } from './format.ts';
import { paperReference } from './paper.ts';
import type { FigureSpec } from './render.ts';
import { degradeCurve, kTitle, slug, taskColumns } from './tables.ts';

export const WIDTH = 1200;
export const HEIGHT = 800;

/** Okabe-Ito, readable by colour-blind readers; black and grey last. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#000000', '#999999'];
export const color = (i: number): string => PALETTE[i % PALETTE.length];
export const alpha = (hex: string, a: number): string => `${hex}${Math.round(a * 255).toString(16).padStart(2, '0')}`;

const TITLE = { display: true, font: { size: 22, weight: 'bold' as const }, padding: { top: 8, bottom: 6 } };
const SUBTITLE = { display: true, font: { size: 15 }, padding: { bottom: 12 } };
const axisTitle = (text: string) => ({ display: true, text, font: { size: 18 } });
const LEGEND = { display: true, position: 'top' as const, labels: { font: { size: 16 }, boxWidth: 28, padding: 16 } };

/** Greedy word wrap into lines of at most `width` characters. */
export function wrap(text: string, width = 110): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + w.length > width) { lines.push(cur); cur = w; } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines;
}

interface Marker { x: number; text: string; color: string }

/**
 * Vertical dashed lines at data x values, each labelled near the top of the plot on a white box
 * (labels stacked so close markers do not collide). chart.js has no annotations without a plugin.
 */
function markersPlugin(items: Marker[], fontSize = 16): Plugin {
  return {
    id: 'bbMarkers',
    afterDatasetsDraw: (chart) => {
      const { ctx, scales, chartArea } = chart;
      const mid = (chartArea.left + chartArea.right) / 2;
      ctx.save();
      ctx.font = `bold ${fontSize}px "${Chart.defaults.font.family}"`;
      ctx.textBaseline = 'middle';
      items.forEach((it, i) => {
        const px = scales.x.getPixelForValue(it.x);
        ctx.strokeStyle = it.color;
        ctx.lineWidth = 2;
        ctx.setLineDash([8, 6]);
        ctx.beginPath();
        ctx.moveTo(px, chartArea.top);
        ctx.lineTo(px, chartArea.bottom);
        ctx.stroke();
        ctx.setLineDash([]);
        const right = px > mid; // text on the side with room
        const w = ctx.measureText(it.text).width;
        const y = chartArea.top + 18 + i * (fontSize + 14);
        const x0 = right ? px - 10 - w : px + 10;
        ctx.fillStyle = 'rgba(255,255,255,0.9)';
        ctx.fillRect(x0 - 5, y - fontSize / 2 - 5, w + 10, fontSize + 10);
        ctx.fillStyle = it.color;
        ctx.textAlign = 'left';
        ctx.fillText(it.text, x0, y);
      });
      ctx.restore();
    },
  };
}

/** Values written above bars, rotated, when there are few enough bars to read them. */
function barValuesPlugin(fontSize = 14): Plugin {
  return {
    id: 'bbBarValues',
    afterDatasetsDraw: (chart) => {
      const { ctx } = chart;
      ctx.save();
      ctx.font = `${fontSize}px "${Chart.defaults.font.family}"`;
      ctx.fillStyle = '#222';
      ctx.textAlign = 'left';
      ctx.textBaseline = 'middle';
      chart.data.datasets.forEach((ds, i) => {
        chart.getDatasetMeta(i).data.forEach((el, j) => {
          const v = ds.data[j];
          if (typeof v !== 'number') return;
          ctx.save();
          ctx.translate(el.x, el.y - 6);
          ctx.rotate(-Math.PI / 2);
          ctx.fillText(fixed(v), 0, 0);
          ctx.restore();
        });
      });
      ctx.restore();
    },
  };
}

/** One per (statistic, task): a box per configuration of the per-sentence values (paper Figures 2, 5). */
export function boxplotFigures(runs: readonly StsResults[], statistic: SentenceStat['statistic']): FigureSpec[] {
  const byTask = new Map<string, { label: string; stat: SentenceStat }[]>();
  for (const r of runs) {
    for (const s of r.sentenceStats ?? []) {
      if (s.statistic !== statistic) continue;
      byTask.set(s.task, [...(byTask.get(s.task) ?? []), { label: r.label, stat: s }]);
    }
  }
  return [...byTask].map(([task, items]) => {
    const defs = [...new Set(items.map((it) => it.stat.definition))];
    const defText = defs.length === 1 ? `Definition: ${defs[0]}` : `Definitions differ: ${items.map((it) => `${it.label}: ${it.stat.definition}`).join(' / ')}`;
    const title = `Per-sentence ${statistic} on ${task}`;
    const ns = items.map((it) => `${it.label} n = ${it.stat.values.length}`).join(', ');
    const caption = `${title}, one box per configuration (${ns}). ${defText} Box: quartiles and median; whiskers: 1.5 × IQR; points beyond: outliers; dot: mean.`;
    return {
      id: `boxplot-${slug(statistic)}-${slug(task)}`,
      title, caption, width: WIDTH, height: HEIGHT,
      config: (): ChartConfiguration => ({
        type: 'boxplot',
        data: {
          labels: items.map((it) => [it.label, `n = ${it.stat.values.length}`]),
          datasets: [{
            label: statistic,
            data: items.map((it) => it.stat.values),
            backgroundColor: items.map((_, i) => alpha(color(i), 0.35)),
            borderColor: items.map((_, i) => color(i)),
            borderWidth: 2,
            outlierRadius: 3, outlierBackgroundColor: '#666', outlierBorderColor: '#666',
            itemRadius: 0, meanRadius: 5, meanBackgroundColor: '#222', meanBorderColor: '#222',
            coef: 1.5, quantiles: 7,
            categoryPercentage: 0.7, barPercentage: items.length <= 2 ? 0.55 : 0.8,
          }],
        } as ChartConfiguration['data'],
        options: {
          layout: { padding: 16 },
          plugins: { legend: { display: false }, title: { ...TITLE, text: title }, subtitle: { ...SUBTITLE, text: wrap(defText, 120) } },
          scales: {
            x: { title: axisTitle('configuration'), ticks: { font: { size: 16 } } },
            // a correlation: no tick labels beyond ±1 where the padding reaches past them
            y: { grace: '4%', title: axisTitle(`per-sentence ${statistic} (Spearman ρ)`), ticks: { font: { size: 16 }, callback: (v) => (Math.abs(Number(v)) <= 1 + 1e-9 ? Number(Number(v).toFixed(2)) : '') } },
          },
        },
      }),
    };
  });
}

/** Average Spearman x100 against k, the turning point marked; optional per-task lines. */
export function degradeFigure(d: DegradeResults, perTask = false): FigureSpec {
  const curve = degradeCurve(d);
  const avg = curve.filter((c) => AVG in c.row).map((c) => ({ x: c.k, y: c.row[AVG] }));
  const at = (k: number) => avg.find((p) => p.x === k);
  const xTitle = d.mode === 'bidirectional'
    ? 'k = number of uni-directional (causal) layers; layers ≥ k are bidirectional'
    : 'layers kept (the first k layers run, causal)';
  const title = `Degradation (${d.mode}): ${d.label}`;
  const marks: { label: string; point: { x: number; y: number }; color: string; style: 'star' | 'triangle'; text: string }[] = [];
  const ld = d.turningPoint.largestDrop, cp = d.turningPoint.changePoint;
  const ldp = ld ? at(ld.k) : undefined, cpp = cp ? at(cp.k) : undefined;
  if (ld && ldp) marks.push({ label: `turning point: largest drop after k = ${ld.k}`, point: ldp, color: '#C00000', style: 'star', text: `largest drop after k = ${ld.k}` });
  if (cp && cpp) marks.push({ label: `change point: k = ${cp.k}`, point: cpp, color: '#E69F00', style: 'triangle', text: `change point k = ${cp.k}` });
  const tasks = perTask ? taskColumns(d.rows.map((r) => r.tasks)) : [];
  const ks = curve.map((c) => c.k);
  const span = ks.length ? Math.max(...ks) - Math.min(...ks) : 0;
  const caption = `${title}. x: ${xTitle}; y: average Spearman x100 over the tasks (Avg of the printed numbers)${perTask ? '; thin lines: each task' : ''}. ` +
    (ld ? `Turning point: the largest one-step drop of Avg is after k = ${ld.k}. ` : 'Avg never drops. ') +
    (cp ? `Two-segment change point: k = ${cp.k}.` : '');
  return {
    id: `degrade-${slug(d.label)}`,
    title, caption, width: WIDTH, height: HEIGHT,
    config: (): ChartConfiguration => ({
      type: 'line',
      data: {
        datasets: [
          { label: 'Avg', data: avg, borderColor: '#0072B2', backgroundColor: '#0072B2', borderWidth: 4, pointRadius: 5, tension: 0, order: 1 },
          ...tasks.map((t, i) => ({
            label: t, data: curve.filter((c) => t in c.row).map((c) => ({ x: c.k, y: c.row[t] })),
            borderColor: alpha(color(i + 1), 0.8), backgroundColor: alpha(color(i + 1), 0.8), borderWidth: 2, borderDash: [6, 4], pointRadius: 3, pointStyle: 'rect', tension: 0, order: 2,
          })),
          ...marks.map((m) => ({
            label: m.label, data: [m.point], showLine: false, pointStyle: m.style, pointRadius: 14, pointBorderWidth: 3,
            borderColor: m.color, backgroundColor: alpha(m.color, 0.5), order: 0,
          })),
        ],
      },
      options: {
        layout: { padding: 16 },
        plugins: {
          legend: { ...LEGEND, labels: { ...LEGEND.labels, usePointStyle: true, boxHeight: 14, sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0) } },
          title: { ...TITLE, text: title },
        },
        scales: {
          x: { type: 'linear', min: Math.min(...ks), max: Math.max(...ks), offset: true, title: axisTitle(xTitle), ticks: { font: { size: 16 }, stepSize: span <= 40 ? 1 : undefined, precision: 0 } },
          y: { grace: '22%', title: axisTitle('average Spearman x100'), ticks: { font: { size: 16 } } },
        },
      },
      plugins: [markersPlugin(marks.map((m) => ({ x: m.point.x, text: m.text, color: m.color })))],
    }),
  };
}

/** Grouped bars: tasks (and Avg) on x, one bar per configuration (BeLLM's numbers first if asked). */
export function taskBarFigure(runs: readonly StsResults[], comparePaper = false): FigureSpec {
  const cols = [...taskColumns(runs.map((r) => r.tasks)), AVG];
  const series = runs.map((r) => ({ label: r.label, row: stsTableRow(r.tasks) }));
  if (comparePaper) series.unshift({ label: paperReference.label, row: paperReference.scores });
  const values = series.flatMap((s) => cols.map((c) => s.row[c]).filter((v): v is number => typeof v === 'number'));
  const lo = values.length ? Math.max(0, Math.floor((Math.min(...values) - 10) / 10) * 10) : 0;
  const hi = values.length ? Math.min(100, Math.ceil((Math.max(...values) + 8) / 5) * 5) : 100;
  const showValues = series.length * cols.length <= 48;
  const title = comparePaper ? 'STS per task: configurations and BeLLM (paper)' : 'STS per task by configuration';
  const caption = `${title}. y: Spearman x100 (STS12-16: all; STS-B, SICK-R: test)${lo > 0 ? `; the axis starts at ${lo}, not 0` : ''}.`;
  return {
    id: 'tasks-bar',
    title, caption, width: WIDTH, height: HEIGHT,
    config: (): ChartConfiguration => ({
      type: 'bar',
      data: {
        labels: cols,
        datasets: series.map((s, i) => ({
          label: s.label, data: cols.map((c) => s.row[c] ?? null),
          backgroundColor: comparePaper && i === 0 ? '#BBBBBB' : alpha(color(comparePaper ? i - 1 : i), 0.85),
          borderColor: comparePaper && i === 0 ? '#666666' : color(comparePaper ? i - 1 : i), borderWidth: 1,
        })),
      },
      options: {
        layout: { padding: { top: 16, left: 16, right: 16, bottom: 8 } },
        plugins: { legend: LEGEND, title: { ...TITLE, text: title } },
        scales: {
          x: { title: axisTitle('task'), ticks: { font: { size: 16 } } },
          y: { min: lo, max: hi, title: axisTitle('Spearman x100'), ticks: { font: { size: 16 } } },
        },
      },
      plugins: showValues ? [barValuesPlugin()] : [],
    }),
  };
}

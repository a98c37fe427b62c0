// The degradation figure in the style of BeLLM's Figure 4: average Spearman x100 against k, one curve
// per sweep (base vs adapter, bidirectional vs truncate on one plot), one turning point per curve marked
// by a down arrow (the method chosen with --turning-point), per-task lines optional.
import type { ChartConfiguration, Plugin } from 'chart.js';
import type { DegradeResults } from '../experiments/results/results.ts';
import { chosenTurningPoint, DEFAULT_TURNING_POINT, type TurningPointMethod } from '../experiments/stats/turning-point.ts';
import { AVG } from './format.ts';
import { alpha, axisTitle, border, color, grid, legend, PALETTE, splitSuffix, splitText, ticks, titles } from './chart-kit.ts';
import { DEFAULT_STYLE, FONT_PT, pt, type FigureStyle } from './figure-style.ts';
import type { FigureSpec } from './render.ts';
import { degradeCurve, fileParts, taskColumns, type FileParts } from './tables.ts';

export interface DegradeFigureOptions {
  style?: FigureStyle;
  /** Which turning point the arrows mark (default largest-drop). */
  method?: TurningPointMethod;
  /** Per-task lines: on the one figure when there is one sweep, else on one extra figure per sweep. */
  perTask?: boolean;
  /** File-name parts of the sweeps' labels (degrade-<part>): the report's fileParts; default: the sweeps' own. */
  parts?: FileParts;
}

const POINT_STYLES = ['circle', 'rect', 'triangle', 'rectRot', 'crossRot'] as const;
/** Per-task lines: the palette without black, which marks Avg on a per-task plot. */
const TASK_COLORS = PALETTE.filter((c) => c !== '#000000');

export const METHOD_TEXT: Record<TurningPointMethod, string> = {
  'largest-drop': 'largest one-step drop of Avg (the arrow points at the k after which Avg falls most)',
  'change-point': 'two-line change point (the arrow points at the first k of the second of two least-squares lines)',
};

interface Arrow { x: number; y: number; color: string; text: string }

/**
 * Down arrows above points, labelled. Each arrow takes the first free placement, shortest first: label
 * centred above the shaft, then beside its top (right, left), then a longer shaft. A placement is free
 * when its label covers no plotted point, no earlier label and stays inside the plot, so a label never
 * hides data and arrows of several curves at the same k stay readable.
 */
export function arrowsPlugin(items: readonly Arrow[]): Plugin {
  return {
    id: 'bbTurningPointArrows',
    afterDatasetsDraw: (chart) => {
      const { ctx, scales, chartArea } = chart;
      ctx.save();
      ctx.font = `${pt(FONT_PT.note)}px "${String(chart.options.font?.family ?? 'sans-serif')}"`;
      type Box = { x0: number; x1: number; y0: number; y1: number };
      const placed: Box[] = [];
      const h = pt(FONT_PT.note), pad = pt(1), r = pt(2.5), head = pt(3.2), gap = pt(2.5);
      const points = chart.data.datasets.flatMap((_, i) => chart.getDatasetMeta(i).data.map((el) => ({ x: el.x, y: el.y })));
      const free = (b: Box) => b.x0 >= chartArea.left && b.x1 <= chartArea.right + pt(4) && b.y0 >= chartArea.top - pt(6)
        && !placed.some((q) => b.x0 < q.x1 && q.x0 < b.x1 && b.y0 < q.y1 && q.y0 < b.y1)
        && !points.some((q) => q.x + r > b.x0 && q.x - r < b.x1 && q.y + r > b.y0 && q.y - r < b.y1);
      for (const a of items) {
        const px = scales.x.getPixelForValue(a.x);
        const tip = scales.y.getPixelForValue(a.y) - gap;
        const w = ctx.measureText(a.text).width;
        const boxFor = (len: number, side: 'centre' | 'right' | 'left'): Box => {
          const top = tip - len;
          if (side === 'centre') return { x0: px - w / 2 - pad, x1: px + w / 2 + pad, y0: top - pad - h, y1: top - pad / 2 };
          const x0 = side === 'right' ? px + pt(2.5) : px - pt(2.5) - w - 2 * pad;
          return { x0, x1: x0 + w + 2 * pad, y0: top - h / 2 - pad, y1: top + h / 2 + pad / 2 };
        };
        let choice: { len: number; box: Box } | null = null;
        for (let len = pt(9); !choice && len <= pt(72); len += pt(2)) {
          for (const side of ['centre', 'right', 'left'] as const) {
            const box = boxFor(len, side);
            if (free(box)) { choice = { len, box }; break; }
          }
        }
        choice ??= { len: pt(9), box: boxFor(pt(9), 'centre') };
        placed.push(choice.box);
        const { box } = choice;
        const top = tip - choice.len;
        ctx.setLineDash([]);
        // a white box under the label keeps it legible where it crosses a line (it never covers a point)
        ctx.fillStyle = 'rgba(255,255,255,0.85)';
        ctx.fillRect(box.x0, box.y0, box.x1 - box.x0, box.y1 - box.y0);
        ctx.strokeStyle = a.color;
        ctx.fillStyle = a.color;
        ctx.lineWidth = pt(0.9);
        ctx.beginPath();
        ctx.moveTo(px, top);
        ctx.lineTo(px, tip - head * 0.9);
        ctx.stroke();
        ctx.beginPath();
        ctx.moveTo(px - head * 0.6, tip - head);
        ctx.lineTo(px + head * 0.6, tip - head);
        ctx.lineTo(px, tip);
        ctx.closePath();
        ctx.fill();
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillText(a.text, (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2 + pad / 4);
      }
      ctx.restore();
    },
  };
}

function xText(modes: ReadonlySet<DegradeResults['mode']>): string {
  if (modes.size > 1) return 'k (bidirectional: causal layers; truncate: layers kept)';
  return modes.has('truncate') ? 'layers kept (k; the rest are dropped)' : 'k: layers < k causal, layers ≥ k bidirectional';
}

/** One figure of the given sweeps (all of one split). */
export function degradeFigure(sweeps: readonly DegradeResults[], o: DegradeFigureOptions & { id: string; perTask?: boolean } ): FigureSpec {
  const style = o.style ?? DEFAULT_STYLE;
  const method = o.method ?? DEFAULT_TURNING_POINT;
  const curves = sweeps.map((d) => ({ d, curve: degradeCurve(d) }));
  const avg = curves.map(({ curve }) => curve.filter((c) => AVG in c.row).map((c) => ({ x: c.k, y: c.row[AVG] })));
  const single = sweeps.length === 1;
  const tasks = o.perTask && single ? taskColumns(sweeps[0].rows.map((r) => r.tasks)) : [];
  const taskLines = tasks.map((t) => curves[0].curve.filter((c) => t in c.row).map((c) => ({ x: c.k, y: c.row[t] })));
  const arrows: Arrow[] = [];
  const marked: string[] = [];
  curves.forEach(({ d }, i) => {
    const tp = chosenTurningPoint(d.turningPoint, method);
    const p = tp ? avg[i].find((q) => q.x === tp.k) : undefined;
    if (tp && p) {
      arrows.push({ x: p.x, y: p.y, color: single && tasks.length ? '#000000' : color(i), text: `k = ${tp.k}` });
      marked.push(`${d.label}: k = ${tp.k}`);
    } else marked.push(`${d.label}: none`);
  });
  const other: TurningPointMethod = method === 'largest-drop' ? 'change-point' : 'largest-drop';
  const others = curves.map(({ d }) => `${d.label}: ${chosenTurningPoint(d.turningPoint, other)?.k ?? 'none'}`);
  const ys = [...avg.flat(), ...taskLines.flat()].map((p) => p.y);
  const ks = [...new Set(avg.flat().map((p) => p.x))];
  const lo = ys.length ? Math.min(...ys) : 0, hi = ys.length ? Math.max(...ys) : 1;
  const range = hi - lo || 1;
  const xPad = Math.max(0.25, (Math.max(...ks) - Math.min(...ks)) * 0.03);
  const modes = new Set(sweeps.map((d) => d.mode));
  const split = sweeps[0]?.split;
  const title = single ? `Degradation (${sweeps[0].mode}): ${sweeps[0].label}` : `Degradation: ${sweeps.map((d) => d.label).join(' vs ')}`;
  const caption = `${title}${split === 'dev' ? ' (dev split)' : ''}. x: ${xText(modes)}; y: Avg, the mean Spearman ×100 of the printed task numbers` +
    `${tasks.length ? '; thin dashed lines: each task' : ''}. Arrow${arrows.length > 1 ? 's' : ''}: the turning point by ${METHOD_TEXT[method]}: ${marked.join(', ')}.` +
    ` By ${other}: ${others.join(', ')}.${modes.has('truncate') ? " BeLLM's Figure 4 (eval_degradation.py) truncates layers, as the truncate sweep does." : ''}`;
  const lineW = tasks.length ? pt(1.4) : pt(1.1);
  return {
    id: o.id, title, caption, size: style.size,
    config: (): ChartConfiguration => ({
      type: 'line',
      data: {
        datasets: [
          ...curves.map(({ d }, i) => ({
            label: single ? (tasks.length ? AVG : d.label) : d.label, data: avg[i],
            borderColor: tasks.length ? '#000000' : color(i), backgroundColor: tasks.length ? '#000000' : color(i),
            borderWidth: lineW, borderDash: i % 2 ? [pt(3), pt(1.5)] : [], pointRadius: pt(1.5), pointStyle: POINT_STYLES[i % POINT_STYLES.length],
            tension: 0, order: 1,
          })),
          ...tasks.map((t, j) => ({
            label: t, data: taskLines[j], borderColor: alpha(TASK_COLORS[j % TASK_COLORS.length], 0.85), backgroundColor: alpha(TASK_COLORS[j % TASK_COLORS.length], 0.85),
            borderWidth: pt(0.6), borderDash: [pt(2), pt(1.2)], pointRadius: 0, tension: 0, order: 2,
          })),
        ],
      },
      options: {
        layout: { padding: { top: pt(2), left: pt(2), right: pt(4), bottom: pt(1) } },
        plugins: { legend: legend(!single || tasks.length > 0, { usePointStyle: true, boxWidth: pt(3.5), boxHeight: pt(3.5) }), ...titles(style, title) },
        scales: {
          x: {
            // a little room at both ends, so a point (and its arrow) at the first or last k clears the axes
            type: 'linear', min: Math.min(...ks) - xPad, max: Math.max(...ks) + xPad, offset: false, grid, border,
            title: axisTitle(xText(modes)),
            ticks: ticks({ stepSize: Math.max(...ks) - Math.min(...ks) <= 12 ? 1 : undefined, precision: 0, includeBounds: false }),
          },
          y: {
            suggestedMin: lo - range * 0.06, suggestedMax: hi + range * (0.32 + 0.14 * Math.max(0, arrows.length - 1)),
            grid, border, title: axisTitle(`${tasks.length ? '' : 'Avg '}Spearman ×100 (${splitText(split)})`), ticks: ticks(),
          },
        },
      },
      plugins: [arrowsPlugin(arrows)],
    }),
  };
}

/**
 * The report's degradation figures: per split, one figure of every sweep; with perTask and several
 * sweeps, also one figure per sweep with its task lines.
 */
export function degradeFigures(sweeps: readonly DegradeResults[], o: DegradeFigureOptions = {}): FigureSpec[] {
  const out: FigureSpec[] = [];
  const part = o.parts ?? fileParts(sweeps.map((d) => d.label));
  for (const split of ['test', 'dev'] as const) {
    const group = sweeps.filter((d) => splitText(d.split) === split);
    if (group.length === 0) continue;
    out.push(degradeFigure(group, { ...o, id: `degradation${splitSuffix(split)}`, perTask: o.perTask }));
    if (o.perTask && group.length > 1) {
      for (const d of group) out.push(degradeFigure([d], { ...o, id: `degrade-${part(d.label)}`, perTask: true }));
    }
  }
  return out;
}

// Renders chart.js configurations in Node on @napi-rs/canvas: PNG from a raster canvas at DPR 2, SVG
// from Skia's SVG canvas (text converted to paths, so the file needs no font), same chart code.
import { Canvas, SvgExportFlag, createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';
import { BoxAndWiskers, BoxPlotController } from '@sgratzl/chartjs-chart-boxplot';
import { figureFont } from './fonts.ts';

export interface FigureSpec {
  id: string;               // file name stem, unique within a report
  title: string;
  caption: string;          // printed under the figure in Markdown/HTML
  width: number;            // CSS px
  height: number;
  /** A fresh configuration per render (chart.js mutates what it is given). */
  config: () => ChartConfiguration;
}

let registered = false;
function setup(): void {
  const family = figureFont();
  if (!registered) {
    Chart.register(...registerables, BoxPlotController, BoxAndWiskers);
    registered = true;
  }
  Chart.defaults.font.family = family;
  Chart.defaults.font.size = 16;
  Chart.defaults.color = '#222';
}

/** Paints the background white (chart.js leaves it transparent). */
const whiteBackground: Plugin = {
  id: 'bbWhiteBackground',
  beforeDraw: (chart) => {
    const { ctx, width, height } = chart;
    ctx.save();
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    ctx.restore();
  },
};

function draw(spec: FigureSpec, canvas: { getContext(id: '2d'): unknown }, dpr: number): Chart {
  setup();
  const config = spec.config();
  config.options = { ...config.options, animation: false, responsive: false, devicePixelRatio: dpr };
  config.plugins = [whiteBackground, ...(config.plugins ?? [])];
  // chart.js is typed for the DOM; the Skia context implements the same 2D API.
  return new Chart(canvas.getContext('2d') as never, config);
}

export async function renderPng(spec: FigureSpec, dpr = 2): Promise<Buffer> {
  const canvas = new Canvas(spec.width, spec.height);
  const chart = draw(spec, canvas, dpr);
  try {
    return await canvas.encode('png');
  } finally {
    chart.destroy();
  }
}

export function renderSvg(spec: FigureSpec): Buffer {
  const canvas = createCanvas(spec.width, spec.height, SvgExportFlag.ConvertTextToPaths);
  const chart = draw(spec, canvas, 1);
  try {
    return canvas.getContent();
  } finally {
    chart.destroy();
  }
}

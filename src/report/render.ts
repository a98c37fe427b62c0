// Renders chart.js configurations in Node on @napi-rs/canvas (Skia), one chart code for three formats:
// PNG from a raster canvas at 300 dpi (with the resolution recorded in the file), SVG from Skia's SVG
// canvas (text converted to paths, so the file needs no font; size in inches), and PDF from Skia's PDF
// backend (PDFDocument: vector paths, the font embedded as a subset, page size in points). Canvas units
// are 1/100 inch (figure-style.ts), so every format has the same physical size.
import { Canvas, PDFDocument, SvgExportFlag, createCanvas } from '@napi-rs/canvas';
import { Chart, registerables, type ChartConfiguration, type Plugin } from 'chart.js';
import { BoxAndWiskers, BoxPlotController } from '@sgratzl/chartjs-chart-boxplot';
import { figureFont } from './fonts.ts';
import { canvasSize, FONT_PT, PNG_DPI, pt, UNITS_PER_INCH, type FigureSize } from './figure-style.ts';

export interface FigureSpec {
  id: string;               // file name stem, unique within a report
  title: string;            // in the caption; inside the plot only with --figure-titles
  caption: string;          // printed under the figure in Markdown/HTML/LaTeX
  size: FigureSize;         // inches at print size
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
  Chart.defaults.font.size = pt(FONT_PT.tick);
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

/** Draws `spec` on any 2D canvas (tests pass a recording one); the caller destroys the chart. */
export function draw(spec: FigureSpec, canvas: { getContext(id: '2d'): unknown }, dpr: number): Chart {
  setup();
  const config = spec.config();
  config.options = { ...config.options, animation: false, responsive: false, devicePixelRatio: dpr };
  config.plugins = [whiteBackground, ...(config.plugins ?? [])];
  // chart.js is typed for the DOM; the Skia context implements the same 2D API.
  return new Chart(canvas.getContext('2d') as never, config);
}

/** PNG at 300 dpi: 3 pixels per canvas unit, the pHYs chunk says 300 pixels per inch. */
export async function renderPng(spec: FigureSpec): Promise<Buffer> {
  const { width, height } = canvasSize(spec.size);
  const canvas = new Canvas(width, height);
  const chart = draw(spec, canvas, PNG_DPI / UNITS_PER_INCH);
  try {
    return await canvas.encode('png', { resolution: PNG_DPI });
  } finally {
    chart.destroy();
  }
}

/** SVG whose root carries the print size in inches and a viewBox in canvas units. */
export function renderSvg(spec: FigureSpec): Buffer {
  const { width, height } = canvasSize(spec.size);
  const canvas = createCanvas(width, height, SvgExportFlag.ConvertTextToPaths);
  const chart = draw(spec, canvas, 1);
  try {
    const svg = canvas.getContent().toString('utf8');
    return Buffer.from(svg.replace(/<svg\b([^>]*?)\swidth="[^"]*"\s+height="[^"]*"/,
      `<svg$1 width="${width / UNITS_PER_INCH}in" height="${height / UNITS_PER_INCH}in" viewBox="0 0 ${width} ${height}"`));
  } finally {
    chart.destroy();
  }
}

/**
 * A one-page PDF of the figure's print size (72 points per inch). chart.js draws on the page's 2D
 * context through a stand-in canvas of the figure's size in units; its device pixel ratio (0.72)
 * scales units to points.
 */
export function renderPdf(spec: FigureSpec): Buffer {
  setup();
  const { width, height } = canvasSize(spec.size);
  const scale = 72 / UNITS_PER_INCH;
  const doc = new PDFDocument({ title: spec.title, creator: 'bellm-bench report' });
  const ctx = doc.beginPage(width * scale, height * scale);
  const stand = { width, height, style: {}, getContext: () => ctx };
  // chart.js reaches the canvas through ctx.canvas, which a PDF page does not have.
  Object.defineProperty(ctx, 'canvas', { value: stand, configurable: true });
  const chart = draw(spec, stand, scale);
  doc.endPage();
  chart.destroy(); // before close: destroy clears the (still open) page context
  return doc.close();
}

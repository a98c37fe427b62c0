import test from 'ava';
import { inflateSync } from 'node:zlib';
import { Canvas, loadImage, createCanvas } from '@napi-rs/canvas';
import { boxplotFigures, degradeFigures, taskBarFigure } from '../../src/report/charts.ts';
import { degradeFigure } from '../../src/report/degrade-chart.ts';
import { FIGURE_SIZES, parseFigureSize, type FigureStyle } from '../../src/report/figure-style.ts';
import { draw, renderPdf, renderPng, renderSvg, type FigureSpec } from '../../src/report/render.ts';
import { UserError } from '../../src/errors.ts';
import { chosenTurningPoint } from '../../src/experiments/stats/turning-point.ts';
import { syntheticDegrade, syntheticSts } from './fixtures/synthetic.ts';

const runs = [syntheticSts('synthetic A', 1, 0.35, 20), syntheticSts('synthetic B', 2, 0.25, 20)];
const single: FigureStyle = { size: FIGURE_SIZES.single, titles: false };
const figures: FigureSpec[] = [taskBarFigure(runs, true), ...boxplotFigures(runs, 'pivot-spearman'), ...boxplotFigures(runs, 'group-spearman'), ...degradeFigures([syntheticDegrade()], { perTask: true })];

/** Draws a figure on a canvas whose 2D context records the font and text of every fillText. */
function recordText(spec: FigureSpec): { font: string; text: string }[] {
  const w = Math.round(spec.size.width * 100), h = Math.round(spec.size.height * 100);
  const real = new Canvas(w, h).getContext('2d');
  const seen: { font: string; text: string }[] = [];
  const stand: { width: number; height: number; style: object; getContext: () => unknown } = { width: w, height: h, style: {}, getContext: () => ctx };
  const ctx: unknown = new Proxy(real, {
    get(t, p) {
      if (p === 'canvas') return stand;
      if (p === 'fillText') return (text: string, x: number, y: number) => { seen.push({ font: t.font, text: String(text) }); t.fillText(text, x, y); };
      const v = Reflect.get(t, p, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
    set(t, p, v) { return Reflect.set(t, p, v, t); },
  });
  draw(spec, stand, 1).destroy();
  return seen;
}

/** Font size in points at print size: canvas units are 1/100 inch, so px x 0.72. */
const points = (font: string): number => Number(/([\d.]+)px/.exec(font)![1]) * 0.72;

test('--figure-size: single, double, WxH; anything else is a one-line UserError', (t) => {
  t.deepEqual(parseFigureSize('single'), { name: 'single', width: 3.3, height: 2.5 });
  t.is(parseFigureSize('double').width, 6.9);
  t.deepEqual(parseFigureSize('3.3x2.2'), { name: '3.3x2.2', width: 3.3, height: 2.2 });
  for (const bad of ['huge', '3.3', '0.5x2', '3x30', 'x2']) t.throws(() => parseFigureSize(bad), { instanceOf: UserError, message: /^--figure-size .*single \(3\.3 in\), double \(6\.9 in\) or WxH/ });
});

for (const f of figures) {
  for (const size of ['single', 'double'] as const) {
    test(`${f.id} (${size}): every text drawn is 7-9 pt at print size; no title inside by default`, (t) => {
      const spec = { ...f, size: FIGURE_SIZES[size] };
      const texts = recordText(spec);
      t.true(texts.length > 10, `texts drawn: ${texts.length}`);
      for (const { font, text } of texts) {
        const p = points(font);
        t.true(p >= 7 - 0.01 && p <= 9 + 0.01, `"${text}" at ${p.toFixed(2)} pt (${font})`);
      }
      t.false(texts.some((x) => x.text === f.title), 'the title is in the caption, not the plot');
    });
  }
}

test('--figure-titles: the title is drawn inside the plot, at 9 pt bold', (t) => {
  const [f] = degradeFigures([syntheticDegrade()], { style: { size: FIGURE_SIZES.single, titles: true } });
  const title = recordText(f).find((x) => x.text === f.title);
  t.truthy(title);
  t.regex(title!.font, /bold/);
  t.is(Math.round(points(title!.font)), 9);
});

for (const f of figures) {
  test(`PNG ${f.id}: 300 dpi (990x750 px for a single column, pHYs 300 ppi), text drawn, white background`, async (t) => {
    const png = await renderPng(f);
    t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    t.is(png.readUInt32BE(16), 990); // IHDR width: 3.3 in x 300
    t.is(png.readUInt32BE(20), 750); // 2.5 in x 300
    const phys = png.indexOf('pHYs');
    t.true(phys > 0, 'pHYs chunk');
    t.is(png.readUInt32BE(phys + 4), Math.round(300 * 39.3701)); // pixels per metre, x
    t.is(png[phys + 12], 1); // unit: metre
    const img = await loadImage(png);
    const c = createCanvas(img.width, img.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const all = ctx.getImageData(0, 0, img.width, img.height).data;
    let dark = 0;
    for (let i = 0; i < all.length; i += 4) if (all[i] < 80 && all[i + 1] < 80 && all[i + 2] < 80) dark++;
    t.true(dark > 2000, `dark (text) pixels: ${dark}`);
    t.deepEqual([...ctx.getImageData(2, 2, 1, 1).data], [255, 255, 255, 255]);
  });

  test(`SVG ${f.id}: 3.3in x 2.5in with a 330x250 viewBox, loads in Skia, text as paths`, async (t) => {
    const svg = renderSvg(f).toString('utf8');
    t.regex(svg, /^<\?xml [^>]*\?>\s*<svg\b[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]* width="3\.3in" height="2\.5in" viewBox="0 0 330 250"/);
    t.true(svg.trimEnd().endsWith('</svg>'));
    t.true(wellFormed(svg), 'tags balance');
    const img = await loadImage(Buffer.from(svg));
    t.true(img.width > 0 && img.height > 0);
    t.false(svg.includes('<text'), 'text converted to paths');
  });

  test(`PDF ${f.id}: one page of 3.3 x 2.5 in (238 x 180 pt), vector text with the font embedded`, (t) => {
    const pdf = renderPdf(f);
    const s = pdf.toString('latin1');
    t.true(s.startsWith('%PDF-'));
    t.true(s.trimEnd().endsWith('%%EOF'));
    t.is(s.match(/\/Type \/Page\b/g)?.length, 1);
    t.regex(s, /\/MediaBox \[0 0 238 180\]/); // 237.6 x 180 pt, Skia rounds the page to whole points
    t.regex(s, /\/FontFile2 /);
    // the page's content stream draws text (BT ... Tj/TJ ... ET), not only paths
    const streams = [...s.matchAll(/stream\r?\n([\s\S]*?)\r?\nendstream/g)].map((m) => Buffer.from(m[1], 'latin1'));
    const text = streams.map((b) => { try { return inflateSync(b).toString('latin1'); } catch { return b.toString('latin1'); } }).join('\n');
    t.regex(text, /\bBT\b[\s\S]*?\bT[jJ]\b[\s\S]*?\bET\b/);
  });
}

test('group-spearman box plot is labelled per group (n groups, Spearman per group of pairs), not per sentence', (t) => {
  const [box] = boxplotFigures(runs, 'group-spearman', single);
  const texts = recordText(box).map((x) => x.text);
  t.true(texts.includes('200 groups'), texts.join(' | '));
  t.false(texts.some((x) => /sentence/.test(x)));
  t.true(texts.some((x) => /Spearman ρ per \d+-pair group/.test(x)), texts.join(' | '));
  t.regex(box.caption, /^Per-group Spearman \(group-spearman\) on STS-B test, one box per configuration \(synthetic A: 200 groups, synthetic B: 200 groups\)/);
  const [pivot] = boxplotFigures(runs, 'pivot-spearman', single);
  t.true(recordText(pivot).some((x) => x.text === '200 sentences'));
});

test('degradation figure: one down arrow per sweep at the chosen turning point, several sweeps on one plot', (t) => {
  const a = syntheticDegrade('sweep A');
  const b = { ...syntheticDegrade('sweep B'), mode: 'bidirectional' as const };
  for (const method of ['largest-drop', 'change-point'] as const) {
    const [fig] = degradeFigures([a, b], { style: single, method });
    t.is(fig.id, 'degradation');
    const config = fig.config();
    t.deepEqual(config.data.datasets.map((d) => d.label), ['sweep A', 'sweep B']);
    const k = chosenTurningPoint(a.turningPoint, method)!.k;
    const arrows = recordText(fig).filter((x) => /^k = \d+$/.test(x.text)).map((x) => x.text);
    t.deepEqual(arrows, [`k = ${k}`, `k = ${chosenTurningPoint(b.turningPoint, method)!.k}`], method);
    t.regex(fig.caption, new RegExp(`turning point by ${method === 'largest-drop' ? 'largest one-step drop' : 'two-line change point'}.*sweep A: k = ${k}`));
    t.regex(fig.caption, /x: k \(bidirectional: causal layers; truncate: layers kept\)/);
  }
  // with per-task lines and several sweeps: the shared plot, then one per sweep with its task lines
  const figs = degradeFigures([a, b], { style: single, perTask: true });
  t.deepEqual(figs.map((f) => f.id), ['degradation', 'degrade-sweep-a', 'degrade-sweep-b']);
  t.deepEqual(figs[1].config().data.datasets.map((d) => d.label), ['Avg', 'STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STS-B', 'SICK-R']);
  // the synthetic curve falls most after k = 26 (0.72 - 0.004 x 4 then a 0.05 step): hand-checkable
  t.is(chosenTurningPoint(a.turningPoint, 'largest-drop')!.k, 26);
  t.regex(degradeFigure([a], { id: 'x', style: single }).caption, /BeLLM's Figure 4 \(eval_degradation\.py\) truncates layers/);
});

/** Minimal well-formedness check: every start tag closed in order (no DTD/CDATA in Skia's output). */
function wellFormed(xml: string): boolean {
  const body = xml.replace(/^<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const stack: string[] = [];
  let roots = 0;
  for (const m of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (close) { if (stack.pop() !== name) return false; } else if (!self) { if (stack.length === 0) roots++; stack.push(name); } else if (stack.length === 0) roots++;
  }
  return stack.length === 0 && roots === 1;
}

import test from 'ava';
import { loadImage, createCanvas } from '@napi-rs/canvas';
import { boxplotFigures, degradeFigure, taskBarFigure } from '../../src/report/charts.ts';
import { renderPng, renderSvg, type FigureSpec } from '../../src/report/render.ts';
import { syntheticDegrade, syntheticSts } from './fixtures/synthetic.ts';

const runs = [syntheticSts('synthetic A', 1, 0.35, 20), syntheticSts('synthetic B', 2, 0.25, 20)];
const figures: FigureSpec[] = [taskBarFigure(runs, true), ...boxplotFigures(runs, 'pivot-spearman'), degradeFigure(syntheticDegrade(), true)];

test('one box plot per (statistic, task), captioned with the definition', (t) => {
  const box = boxplotFigures(runs, 'group-spearman');
  t.is(box.length, 1);
  t.regex(box[0].caption, /Definition: SYNTHETIC values; group-spearman: a reading, not confirmed/);
  t.deepEqual(boxplotFigures(runs.map((r) => ({ ...r, sentenceStats: [] })), 'pivot-spearman'), []);
});

for (const f of figures) {
  test(`PNG ${f.id}: PNG magic, 2400x1600 at DPR 2, text drawn`, async (t) => {
    const png = await renderPng(f);
    t.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    t.is(png.readUInt32BE(16), 2400); // IHDR width
    t.is(png.readUInt32BE(20), 1600); // IHDR height
    // The title band (top 50 CSS px, centred) must hold dark pixels: the font rendered.
    const img = await loadImage(png);
    const c = createCanvas(img.width, img.height);
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const band = ctx.getImageData(600, 0, 1200, 100).data;
    let dark = 0;
    for (let i = 0; i < band.length; i += 4) if (band[i] < 100 && band[i + 3] > 200) dark++;
    t.true(dark > 200, `dark pixels in the title band: ${dark}`);
    // the background is opaque white
    const corner = ctx.getImageData(2, 2, 1, 1).data;
    t.deepEqual([...corner], [255, 255, 255, 255]);
  });

  test(`SVG ${f.id}: XML with an <svg> root that Skia's SVG parser loads at 1200x800`, async (t) => {
    const svg = renderSvg(f).toString('utf8');
    t.regex(svg, /^<\?xml [^>]*\?>\s*<svg\b[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    t.true(svg.trimEnd().endsWith('</svg>'));
    t.true(wellFormed(svg), 'tags balance');
    const img = await loadImage(Buffer.from(svg));
    t.is(img.width, 1200);
    t.is(img.height, 800);
    t.false(svg.includes('<text'), 'text converted to paths');
  });
}

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

// Figure sizes and type in print units. A figure is drawn on a canvas of 100 units per inch, so a
// single-column figure (3.3 in) is 330 units wide, and every font and line is given in points and
// converted (1 pt = 100/72 units): at print size, text is 7-9 pt whatever the figure's size. PNG is
// rendered at 300 dpi (3 pixels per unit), SVG carries its size in inches, PDF in points.
import { UserError } from '../errors.ts';

export const UNITS_PER_INCH = 100;
export const PNG_DPI = 300;

/** Points to canvas units. */
export const pt = (points: number): number => (points * UNITS_PER_INCH) / 72;

export interface FigureSize { name: string; width: number; height: number } // inches

/** ACL/NAACL-style columns: 3.3 in (single) and 6.9 in (double); heights keep plots readable at 7-9 pt. */
export const FIGURE_SIZES: Record<'single' | 'double', FigureSize> = {
  single: { name: 'single', width: 3.3, height: 2.5 },
  double: { name: 'double', width: 6.9, height: 3.2 },
};

/** `single`, `double` or `WxH` in inches (e.g. 3.3x2.2), each between 1 and 20 inches. */
export function parseFigureSize(spec: string | undefined): FigureSize {
  const s = (spec ?? 'single').trim().toLowerCase();
  if (s === 'single' || s === 'double') return FIGURE_SIZES[s];
  const m = /^(\d+(?:\.\d+)?)x(\d+(?:\.\d+)?)$/.exec(s);
  const [w, h] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!(w >= 1 && w <= 20 && h >= 1 && h <= 20)) {
    throw new UserError(`--figure-size ${spec}: give single (3.3 in), double (6.9 in) or WxH in inches between 1 and 20, e.g. 3.3x2.2`);
  }
  return { name: `${w}x${h}`, width: w, height: h };
}

/** Type sizes in points at print size (7-9 pt). */
export const FONT_PT = { tick: 7, axis: 8, legend: 7, title: 9, subtitle: 7, note: 7 } as const;

export interface FigureStyle {
  size: FigureSize;
  /** Titles and definitions inside the plot (--figure-titles); by default they go in the caption only. */
  titles: boolean;
}

export const DEFAULT_STYLE: FigureStyle = { size: FIGURE_SIZES.single, titles: false };

/** Canvas size in units for a figure size. */
export const canvasSize = (size: FigureSize): { width: number; height: number } =>
  ({ width: Math.round(size.width * UNITS_PER_INCH), height: Math.round(size.height * UNITS_PER_INCH) });

/** Greedy word wrap of `text` into lines of at most `chars` characters (long words stay whole). */
export function wrapText(text: string, chars: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (cur && cur.length + 1 + w.length > chars) { lines.push(cur); cur = w; } else cur = cur ? `${cur} ${w}` : w;
  }
  if (cur) lines.push(cur);
  return lines;
}

/** About how many characters of `points`-sized text fit in `inches` (DejaVu Sans averages ~0.55 em). */
export const charsIn = (inches: number, points: number): number => Math.max(8, Math.floor((inches * 72) / (points * 0.58)));

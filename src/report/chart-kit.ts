// Shared pieces of every figure: the colour palette, fonts and lines in points, axes, legend, titles.
import { charsIn, FONT_PT, pt, wrapText, type FigureStyle } from './figure-style.ts';
import type { Split } from '../tasks/split.ts';

/** Okabe-Ito, readable by colour-blind readers; black and grey last. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#E69F00', '#CC79A7', '#56B4E9', '#000000', '#999999'];
export const color = (i: number): string => PALETTE[i % PALETTE.length];
export const alpha = (hex: string, a: number): string => `${hex}${Math.round(a * 255).toString(16).padStart(2, '0')}`;

export const font = (points: number, bold = false) => ({ size: pt(points), weight: bold ? ('bold' as const) : ('normal' as const) });
export const axisTitle = (text: string | string[]) => ({ display: true, text, font: font(FONT_PT.axis), padding: { top: pt(1.5), bottom: pt(1) } });
export const ticks = (extra: Record<string, unknown> = {}) => ({ font: font(FONT_PT.tick), padding: pt(1.5), ...extra });
export const grid = { color: '#e6e6e6', lineWidth: pt(0.4), tickLength: pt(2.5), tickColor: '#999' };
export const border = { color: '#888', width: pt(0.6) };
export const legend = (display: boolean, extra: Record<string, unknown> = {}) => ({
  display, position: 'top' as const, align: 'center' as const,
  labels: { font: font(FONT_PT.legend), boxWidth: pt(10), boxHeight: pt(5), padding: pt(4), ...extra },
});

/** Title (and a wrapped definition) inside the plot only with --figure-titles. */
export function titles(style: FigureStyle, title: string, subtitle?: string) {
  const width = charsIn(style.size.width * 0.95, FONT_PT.title);
  return {
    title: style.titles ? { display: true, text: wrapText(title, width), font: font(FONT_PT.title, true), padding: { top: pt(1), bottom: pt(2) } } : { display: false },
    subtitle: style.titles && subtitle
      ? { display: true, text: wrapText(subtitle, charsIn(style.size.width * 0.95, FONT_PT.subtitle)), font: font(FONT_PT.subtitle), padding: { bottom: pt(3) } }
      : { display: false },
  };
}

export const splitText = (split: Split | undefined): string => (split === 'dev' ? 'dev' : 'test');
export const splitSuffix = (split: Split | undefined): string => (split === 'dev' ? '-dev' : '');


// One self-contained HTML page: inline CSS, figures as data-URI SVG images, no external assets.
import { SETTINGS_KEYS, textRows, type Table } from './tables.ts';
import { settingsText } from './markdown.ts';

export const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

const CSS = `
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; margin: 2rem auto; max-width: 1280px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.3rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .95rem; }
th, td { border: 1px solid #ccc; padding: .25rem .6rem; } th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.settings { font-size: .85rem; color: #444; } table.settings code { white-space: pre-wrap; }
ul.notes { font-size: .9rem; color: #444; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .9rem; color: #444; max-width: 60rem; }
nav.contents { font-size: .9rem; } nav.contents ul { margin: .2rem 0; }
`;

export function tableToHtml(t: Table): string {
  const text = textRows(t);
  const numeric = t.columns.map((_, j) => t.rows.some((r) => typeof r[j] === 'number'));
  const head = `<tr>${t.columns.map((c) => `<th>${escapeHtml(c.title)}</th>`).join('')}</tr>`;
  const body = text.map((r) => `<tr>${r.map((v, j) => `<td${numeric[j] ? ' class="num"' : ''}>${escapeHtml(v)}</td>`).join('')}</tr>`).join('\n');
  const parts = [`<section id="${escapeHtml(t.id)}">`, `<h2>${escapeHtml(t.title)}</h2>`, `<table>\n<thead>${head}</thead>\n<tbody>\n${body}\n</tbody>\n</table>`];
  if (t.settings?.length) {
    const sh = `<tr><th>Settings</th>${SETTINGS_KEYS.map((k) => `<th>${k}</th>`).join('')}</tr>`;
    const sb = t.settings.map((s) => `<tr><td>${escapeHtml(s.label)}</td>${SETTINGS_KEYS.map((k) => {
      const v = escapeHtml(settingsText(s.settings[k]));
      return `<td>${k === 'prompt' ? `<code>${v}</code>` : v}</td>`;
    }).join('')}</tr>`).join('\n');
    parts.push(`<table class="settings">\n${sh}\n${sb}\n</table>`);
  }
  if (t.notes.length) parts.push(`<ul class="notes">${t.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  parts.push('</section>');
  return parts.join('\n');
}

export interface HtmlFigure { id: string; title: string; caption: string; svg: Buffer; widthIn: number }

/** A figure shown at twice its print width (7-9 pt type reads at screen size), at most the page width. */
export function figureToHtml(f: HtmlFigure): string {
  const src = `data:image/svg+xml;base64,${f.svg.toString('base64')}`;
  return `<figure id="${escapeHtml(f.id)}">\n<img alt="${escapeHtml(f.title)}" src="${src}" style="width: ${2 * f.widthIn}in">\n<figcaption>${escapeHtml(f.caption)}</figcaption>\n</figure>`;
}

export interface HtmlSections {
  /** Short headline tables (STS, paper), shown first. */
  lead: Table[];
  figures: HtmlFigure[];
  /** The long tables (bootstrap, degradation, per-subset, settings), after the figures. */
  rest: Table[];
}

function contents(s: HtmlSections): string {
  const item = (id: string, text: string) => `<li><a href="#${escapeHtml(id)}">${escapeHtml(text)}</a></li>`;
  const list = (xs: string[]) => `<ul>${xs.join('')}</ul>`;
  return `<nav class="contents"><strong>Contents</strong>${list([
    ...s.lead.map((t) => item(t.id, t.title)),
    ...(s.figures.length ? [`<li><a href="#figures">Figures</a>${list(s.figures.map((f) => item(f.id, f.title)))}</li>`] : []),
    ...s.rest.map((t) => item(t.id, t.title)),
  ])}</nav>`;
}

/** The page: title, notes, contents, headline tables, figures, then the long tables. */
export function toHtml(title: string, intro: string[], s: HtmlSections): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    intro.length ? `<ul class="notes">${intro.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>` : '',
    contents(s),
    ...s.lead.map(tableToHtml),
    s.figures.length ? '<h2 id="figures">Figures</h2>' : '',
    ...s.figures.map(figureToHtml),
    ...s.rest.map(tableToHtml),
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

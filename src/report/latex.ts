// LaTeX (booktabs) for report tables and figures, ready to \input into a paper. Any Table from
// tables.ts renders: its title is the caption, numbers are right-aligned and printed exactly as in the
// Markdown/CSV (signs as math minus/plus), `rules` become \midrule, notes follow as comments. Needs
// \usepackage{booktabs} (tables) and \usepackage{graphicx} (figures).
import { textRows, type Table } from './tables.ts';

const SPECIAL: Record<string, string> = {
  '\\': '\\textbackslash{}', '&': '\\&', '%': '\\%', '$': '\\$', '#': '\\#', '_': '\\_', '{': '\\{', '}': '\\}',
  '~': '\\textasciitilde{}', '^': '\\textasciicircum{}', '"': "{''}", '<': '\\textless{}', '>': '\\textgreater{}',
  'Δ': '$\\Delta$', '−': '$-$', '—': '--', '–': '--', '×': '$\\times$', '→': '$\\to$', '≥': '$\\geq$', '≤': '$\\leq$',
  'ρ': '$\\rho$', '±': '$\\pm$',
};

/** Text with LaTeX's special characters escaped and a few symbols turned into math. */
export function latexEscape(s: string): string {
  return [...s].map((c) => SPECIAL[c] ?? c).join('');
}

/** Text for one line of LaTeX (a caption): line breaks become spaces (a blank line would end the paragraph inside \caption{}). */
export function latexLine(s: string): string {
  return latexEscape(s.replace(/\s*[\r\n]+\s*/g, ' '));
}

/** A printed number as LaTeX: a leading sign in math mode ($-$0.40, $+$1.23), em dash for none. */
function numberCell(text: string): string {
  if (text === '—') return '--';
  const m = /^([+-])(.*)$/.exec(text);
  return m ? `$${m[1]}$${latexEscape(m[2])}` : latexEscape(text);
}

export interface LatexTableOptions {
  /** \label{...}; default tab:<id>. */
  label?: string;
  /** table (one column) or table* (both); default table* when the table has more than 6 columns. */
  float?: 'table' | 'table*';
  /** Font size command inside the float (default \small). */
  size?: string;
}

/** One booktabs table in a float with caption and label. */
export function tableToLatex(t: Table, o: LatexTableOptions = {}): string {
  const numeric = t.columns.map((_, j) => t.rows.some((r) => typeof r[j] === 'number'));
  const text = textRows(t);
  const float = o.float ?? (t.columns.length > 6 ? 'table*' : 'table');
  const rules = new Set(t.rules ?? []);
  const body = text.map((row, i) => `${rules.has(i) ? '\\midrule\n' : ''}${row.map((c, j) => (numeric[j] && typeof t.rows[i][j] !== 'string' ? numberCell(c) : latexEscape(c))).join(' & ')} \\\\`);
  return [
    `% ${t.title.replace(/\n/g, ' ')}`,
    '% bellm-bench report; needs \\usepackage{booktabs}',
    `\\begin{${float}}[t]`,
    '\\centering',
    o.size ?? '\\small',
    '\\setlength{\\tabcolsep}{4pt}',
    `\\begin{tabular}{${numeric.map((n) => (n ? 'r' : 'l')).join('')}}`,
    '\\toprule',
    `${t.columns.map((c) => latexEscape(c.title)).join(' & ')} \\\\`,
    '\\midrule',
    ...body,
    '\\bottomrule',
    '\\end{tabular}',
    `\\caption{${latexLine(t.title)}}`,
    `\\label{${o.label ?? `tab:${t.id}`}}`,
    `\\end{${float}}`,
    ...(t.notes.length ? ['% Notes (move into the caption as needed):', ...t.notes.map((n) => `% - ${n.replace(/\r?\n/g, ' ')}`)] : []),
    '',
  ].join('\n');
}

export interface LatexFigure { id: string; caption: string; size: { name: string; width: number } }

/**
 * A figure float including `path` (the PDF): single-column figures at \columnwidth, double-column ones
 * in figure* at \textwidth, other sizes at their width in inches.
 */
export function figureToLatex(f: LatexFigure, path: string): string {
  const wide = f.size.name === 'double';
  const width = f.size.name === 'single' ? '\\columnwidth' : wide ? '\\textwidth' : `${f.size.width}in`;
  const env = wide ? 'figure*' : 'figure';
  return [
    `\\begin{${env}}[t]`,
    '\\centering',
    `\\includegraphics[width=${width}]{${path}}`,
    `\\caption{${latexLine(f.caption)}}`,
    `\\label{fig:${f.id}}`,
    `\\end{${env}}`,
    '',
  ].join('\n');
}

/** Every figure of a report, for \input; paths relative to the report folder; `ext`: the files written (pdf or png). */
export function figuresToLatex(figures: readonly LatexFigure[], dir = 'figures', ext: 'pdf' | 'png' = 'pdf'): string {
  return ['% bellm-bench report figures; needs \\usepackage{graphicx}; paths are relative to the report folder', '', ...figures.map((f) => figureToLatex(f, `${dir}/${f.id}.${ext}`))].join('\n');
}

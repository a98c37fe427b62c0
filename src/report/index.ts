// Public API of the report generator (used by `bellm-bench report`, `sts` and `degrade`).
export { writeReport, buildReport, parseFormats, FORMATS, ALL_FORMATS, DEFAULT_RESAMPLES, type Format, type ReportOptions, type Report, type WrittenReport } from './report.ts';
export { loadResults, parseResults, collectResults, type LoadedResults } from './load.ts';
export { applyLabels } from './labels.ts';
export { formatPaperComparison, paperReference, paperDeltas, type PaperReference } from './paper.ts';
export { x100, round2, avgOfPrinted, stsTableRow, STS_COLUMNS, AVG } from './format.ts';
export { pairedBootstrap, bootstrapCompare, mulberry32, type BootstrapComparison, type BootstrapRow, type PairedBootstrap } from './bootstrap.ts';
export { stsTable, paperTable, degradeTable, subsetTable, bootstrapTable, settingsTable, type Table, type Column, type Cell } from './tables.ts';
export { tableToMarkdown } from './markdown.ts';
export { tableToCsv } from './csv.ts';
export { renderPng, renderSvg, renderPdf, type FigureSpec } from './render.ts';
export { parseFigureSize, FIGURE_SIZES, FONT_PT, type FigureSize, type FigureStyle } from './figure-style.ts';
export { tableToLatex, figureToLatex, figuresToLatex, latexEscape, type LatexTableOptions, type LatexFigure } from './latex.ts';
export { mtebFiles, MTEB_NOTE, MTEB_TASK_NAMES } from './mteb.ts';
export { boxplotFigures, degradeFigures, taskBarFigure } from './charts.ts';
export { degradeFigure } from './degrade-chart.ts';

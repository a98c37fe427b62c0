// Public API of the report generator (used by `bellm-bench report`, `sts` and `degrade`).
export { writeReport, buildReport, parseFormats, FORMATS, DEFAULT_RESAMPLES, type Format, type ReportOptions, type Report, type WrittenReport } from './report.ts';
export { loadResults, parseResults, type LoadedResults } from './load.ts';
export { formatPaperComparison, paperReference, paperDeltas, type PaperReference } from './paper.ts';
export { x100, round2, avgOfPrinted, stsTableRow, STS_COLUMNS, AVG } from './format.ts';
export { pairedBootstrap, bootstrapCompare, mulberry32, type BootstrapComparison, type BootstrapRow, type PairedBootstrap } from './bootstrap.ts';
export { stsTable, paperTable, degradeTable, subsetTable, bootstrapTable, settingsTable, type Table, type Column, type Cell } from './tables.ts';
export { tableToMarkdown } from './markdown.ts';
export { tableToCsv } from './csv.ts';
export { renderPng, renderSvg, type FigureSpec } from './render.ts';
export { boxplotFigures, degradeFigure, taskBarFigure } from './charts.ts';

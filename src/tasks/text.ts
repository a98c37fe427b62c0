// Python's text semantics that SentEval's loaders rely on, so the loaders read exactly what it reads.
import { readFileSync } from 'node:fs';
import { UserError } from '../errors.ts';

/** Characters for which Python's str.isspace() is true: what str.split()/strip() with no argument use. */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const WS_RUN = new RegExp(`[${PY_WS}]+`, 'u');
const WS_EDGES = new RegExp(`^[${PY_WS}]+|[${PY_WS}]+$`, 'gu');
/** 1-based line of the first byte sequence that is not UTF-8, or 0 when all of it is valid. */
export function firstInvalidUtf8Line(bytes: Uint8Array): number {
  const dec = new TextDecoder('utf-8', { fatal: true });
  let start = 0, line = 1;
  // 0x0A never occurs inside a multi-byte UTF-8 sequence, so each line can be checked on its own.
  while (start <= bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    if (end < 0) end = bytes.length;
    try {
      dec.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    start = end + 1;
    line++;
  }
  return 0;
}

/** Python's str.splitlines() boundaries. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/u;

/**
 * Read a file as strict UTF-8, like io.open(path, encoding='utf8'): invalid bytes fail, a BOM is kept
 * (Python's 'utf8' codec does not strip it), C1 control characters are valid text and stay.
 */
export function readUtf8(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new UserError(`missing task file ${path}: run \`bellm-bench data fetch\` or pass --data-dir <folder holding STS/ and SICK/>`);
    }
    if (code === 'EISDIR') throw new UserError(`${path} is a directory, not a task file: run \`bellm-bench data verify\`, or pass --data-dir <folder holding STS/ and SICK/>`);
    if (code === 'ENOTDIR') throw new UserError(`${path}: a folder on this path is a file (is --data-dir a folder?); pass --data-dir <folder holding STS/ and SICK/>`);
    throw new UserError(`${path}: cannot read the task file (${code ?? (err as Error).message})`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new UserError(`${path} is not valid UTF-8 (SentEval reads it strictly): run \`bellm-bench data verify\` and re-fetch`);
  }
}

/** Python's str.splitlines(): no trailing empty line for a final break; also splits on \v \f \x1c-\x1e \x85 U+2028/9. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(LINE_BREAK);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Lines as Python's `for line in open(path)` gives them (universal newlines: \n, \r\n, \r only). */
export function fileLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Python's str.strip() with no argument. */
export const pyStrip = (s: string): string => s.replace(WS_EDGES, '');

/** Python's str.split() with no argument. */
export const pySplit = (s: string): string[] => {
  const t = pyStrip(s);
  return t === '' ? [] : t.split(WS_RUN);
};

/** SentEval keeps `s.split()` tokens; the model sees `' '.join(tokens)`. */
export const normalizeSentence = (s: string): string => pySplit(s).join(' ');

/**
 * A gold score as Python's float() reads a decimal (surrounding whitespace allowed). Anything else,
 * including nan/inf, is an error here: SentEval would crash or score garbage.
 */
export function parseGold(raw: string, where: string): number {
  const t = pyStrip(raw).replace(/(?<=\d)_(?=\d)/g, '');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) throw new UserError(`${where}: gold score ${JSON.stringify(raw)} is not a number`);
  return Number(t);
}

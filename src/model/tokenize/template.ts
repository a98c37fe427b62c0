// Prompt templates as lists of pieces (fixed text, {text}, {instruction}, the special tokens {bos} and
// {eos}), a pooled span marked in the template, and the two tokenization rules of the recipes:
//   whole   the pieces joined into one string, tokenized once after BOS (BeLLM, PromptEOL, AnglE, E5,
//           RepLLaMA, SGPT and LLM2Vec do this); trailing {eos} ids are appended after truncation.
//   pieces  each piece tokenized on its own (echo-embeddings' EchoParser), so every piece's token
//           range is exact and never shifts with a neighbour's merge; each piece is cut to maxLength.
//
// Syntax (documented in the README, section "Templates"):
//   {text}            the sentence (after preprocessing); at least one
//   {instruction}     the preset's instruction or --instruction
//   {bos} {eos}       BOS / EOS written as ids; {bos} only first (BOS is always first, written or not;
//                     a model whose own template adds no BOS, like Qwen's, gets none either way)
//   {text*} {eos*}... a star marks the piece pooled; marked pieces must be adjacent (one span)
//   {(} ... {)}       a group: the text inside is one piece (tokenized together); {(*} marks it pooled
//   {{ }}             literal braces
// Pooling (last | avg | first | weighted) works over the marked span, or over every token when the
// template marks none.
// Strings are tokenized as `Tokenizer.pieces` (no special tokens) and only as far as maxLength needs
// (src/model/tokenize/prefix.ts): a 1 MB sentence costs what its first few thousand characters cost.
import type { Pooling } from '../../backend/ops.ts';
import { UserError } from '../../errors.ts';
import type { Tokenizer } from '../arch/types.ts';
import { piecesPrefix } from './prefix.ts';

export type Tokenization = 'whole' | 'pieces';
export const TOKENIZATIONS: readonly Tokenization[] = ['whole', 'pieces'];

export type Part = { kind: 'fixed'; text: string } | { kind: 'text' | 'instruction' | 'bos' | 'eos' };

export interface Piece {
  parts: Part[];            // one part, or several for a {(}...{)} group
  pooled: boolean;
  group: boolean;
}

export interface Template {
  source: string;
  pieces: Piece[];
  /** Range of pooled pieces [first, last], or null when the template marks none. */
  pooled: [number, number] | null;
}

const PLACEHOLDERS = ['text', 'instruction', 'bos', 'eos'] as const;

function bad(src: string, msg: string): UserError {
  return new UserError(`template ${JSON.stringify(src)}: ${msg} (syntax: README, "Templates")`);
}

const isSpecial = (p: Piece): boolean => p.parts.length === 1 && (p.parts[0].kind === 'bos' || p.parts[0].kind === 'eos');
const kindOf = (p: Piece): Part['kind'] | 'group' => (p.group ? 'group' : p.parts[0].kind);

/** Parses a template; every error is a UserError naming the template and the fix. */
export function parseTemplate(src: string): Template {
  const pieces: Piece[] = [];
  let fixed = '';
  let group: Piece | null = null;
  const flush = () => {
    if (!fixed) return;
    if (group) group.parts.push({ kind: 'fixed', text: fixed });
    else pieces.push({ parts: [{ kind: 'fixed', text: fixed }], pooled: false, group: false });
    fixed = '';
  };
  for (let i = 0; i < src.length;) {
    const c = src[i];
    if ((c === '{' || c === '}') && src[i + 1] === c) {
      fixed += c;
      i += 2;
      continue;
    }
    if (c === '}') throw bad(src, `a lone "}" at character ${i}; write }} for a literal brace`);
    if (c !== '{') {
      fixed += c;
      i++;
      continue;
    }
    const j = src.indexOf('}', i);
    if (j < 0) throw bad(src, `"{" at character ${i} is never closed; write {{ for a literal brace`);
    const name = src.slice(i + 1, j);
    flush();
    if (name === '(' || name === '(*') {
      if (group) throw bad(src, 'groups {(}...{)} cannot nest');
      group = { parts: [], pooled: name === '(*', group: true };
    } else if (name === ')') {
      if (!group) throw bad(src, '{)} without an open {(}');
      if (group.parts.length === 0) throw bad(src, 'an empty group {(}{)}');
      pieces.push(group);
      group = null;
    } else {
      const star = name.endsWith('*');
      const base = star ? name.slice(0, -1) : name;
      if (!(PLACEHOLDERS as readonly string[]).includes(base)) {
        throw bad(src, `unknown placeholder {${name}}: use {text}, {instruction}, {bos}, {eos} (a * marks the pooled span), {(}...{)} groups, {{ }} for literal braces`);
      }
      const kind = base as (typeof PLACEHOLDERS)[number];
      if (group) {
        if (star) throw bad(src, `{${name}} inside a group: mark the whole group pooled with {(*}...{)}`);
        if (kind === 'bos' || kind === 'eos') throw bad(src, `{${kind}} cannot be inside a group (it is written as an id, not tokenized)`);
        group.parts.push({ kind });
      } else {
        pieces.push({ parts: [{ kind }], pooled: star, group: false });
      }
    }
    i = j + 1;
  }
  flush();
  if (group) throw bad(src, 'a group {(} is never closed with {)}');
  if (!pieces.some((p) => p.parts.some((x) => x.kind === 'text'))) throw bad(src, 'it has no {text} (where the sentence goes)');
  pieces.forEach((p, k) => {
    if (k > 0 && kindOf(p) === 'bos') throw bad(src, '{bos} may only open the template (BOS is always the first token)');
  });
  const marked = pieces.map((p, k) => (p.pooled ? k : -1)).filter((k) => k >= 0);
  let pooled: [number, number] | null = null;
  if (marked.length) {
    pooled = [marked[0], marked[marked.length - 1]];
    if (marked.length !== pooled[1] - pooled[0] + 1) throw bad(src, 'the pooled pieces (marked with *) must be adjacent: one span');
  }
  return { source: src, pieces, pooled };
}

/** Whether `t` can be tokenized with rule `mode` (whole: specials only at the ends, a pooled span at the end). */
export function checkTokenization(t: Template, mode: Tokenization): void {
  if (!TOKENIZATIONS.includes(mode)) throw new UserError(`unknown tokenization "${mode}": whole or pieces`);
  if (mode === 'pieces') return;
  const { lead, trail } = ends(t);
  for (let k = lead; k < t.pieces.length - trail; k++) {
    if (isSpecial(t.pieces[k])) throw bad(t.source, `{${kindOf(t.pieces[k])}} inside the text needs --tokenize pieces (with whole tokenization, {eos} may only end the template)`);
  }
  if (!t.pooled) return;
  const [a, b] = t.pooled;
  const midEnd = t.pieces.length - trail;
  const marksText = a < midEnd && b >= lead;
  if (marksText && b < midEnd - 1) {
    throw bad(t.source, 'with whole tokenization a pooled span must end the text (its tokens are counted back from the end, as LLM2Vec does); use --tokenize pieces to pool text in the middle');
  }
}

function ends(t: Template): { lead: number; trail: number } {
  const lead = t.pieces.length && kindOf(t.pieces[0]) === 'bos' ? 1 : 0;
  let trail = 0;
  while (trail < t.pieces.length - lead && kindOf(t.pieces[t.pieces.length - 1 - trail]) === 'eos') trail++;
  return { lead, trail };
}

export const usesInstruction = (t: Template): boolean => t.pieces.some((p) => p.parts.some((x) => x.kind === 'instruction'));

/** A piece written back in template syntax, for explanations ("Instruct:", {text*}, {(}{instruction},{)}). */
export function pieceLabel(p: Piece): string {
  const part = (x: Part) => (x.kind === 'fixed' ? x.text.replace(/[{}]/g, (m) => m + m) : `{${x.kind}}`);
  if (p.group) return `{(${p.pooled ? '*' : ''}}${p.parts.map(part).join('')}{)}`;
  const x = p.parts[0];
  return x.kind === 'fixed' ? JSON.stringify(x.text) : `{${x.kind}${p.pooled ? '*' : ''}}`;
}

export interface Span { from: number; to: number }

export interface Encoded {
  /** Every input id, BOS first where the model has one (and EOS where the template writes it). */
  ids: number[];
  /** Token range pooled over: the marked span, or null for every token. */
  span: Span | null;
  /** Some tokens were cut by maxLength. */
  truncated: boolean;
  /** Token range of each piece (pieces), or of BOS, the one string and each trailing EOS (whole). */
  pieces: { label: string; from: number; to: number }[];
}

export interface EncodeRule {
  template: Template;
  tokenize: Tokenization;
  maxLength: number;
  instruction?: string;
}

function render(p: Piece, text: string, instruction: string | undefined): string {
  return p.parts.map((x) => {
    if (x.kind === 'fixed') return x.text;
    if (x.kind === 'text') return text;
    if (x.kind === 'instruction') {
      if (instruction === undefined) throw new UserError('the template uses {instruction} but no instruction is set: pass --instruction');
      return instruction;
    }
    throw new Error(`render: special token {${x.kind}} is not text`);
  }).join('');
}

function eosOf(tok: Tokenizer): number {
  if (tok.eosId === undefined) throw new UserError(`the tokenizer (${tok.description}) has no EOS token, which the template's {eos} needs`);
  return tok.eosId;
}

/**
 * Token ids of one (preprocessed) sentence under a template, with the pooled span. `where` names the
 * input in errors (e.g. 'sentence 12').
 */
export function encodeWithTemplate(tok: Tokenizer, r: EncodeRule, text: string, where = 'the input'): Encoded {
  const t = r.template;
  if (!Number.isInteger(r.maxLength) || r.maxLength < 2) throw new UserError(`--max-length must be an integer >= 2, got ${r.maxLength}`);
  // The model's BOS slot: [bos] where its template has one, none for Qwen. Pieces of a string are its
  // ids alone (SentencePiece's with their leading space), tokenized only as far as maxLength needs.
  const bos = tok.bosId === null ? [] : [tok.bosId];
  const b0 = bos.length;
  const prefix = (s: string, max: number, atLeast = 0) => piecesPrefix(tok, s, max, atLeast, where);
  let out: Encoded;
  if (r.tokenize === 'pieces') {
    const ids = bos.slice();
    const pieces: Encoded['pieces'] = [];
    let truncated = false;
    const ranges: Span[] = [];
    t.pieces.forEach((p, k) => {
      if (k === 0 && kindOf(p) === 'bos') {
        ranges.push({ from: 0, to: b0 });
        pieces.push({ label: pieceLabel(p), from: 0, to: b0 });
        return;
      }
      if (k === 0 && b0) pieces.push({ label: '(BOS)', from: 0, to: b0 });
      let pid = kindOf(p) === 'eos' ? [eosOf(tok)] : prefix(render(p, text, r.instruction), r.maxLength).ids;
      if (pid.length > r.maxLength) {
        pid = pid.slice(0, r.maxLength); // Echo's rule: every piece on its own
        truncated = true;
      }
      ranges.push({ from: ids.length, to: ids.length + pid.length });
      pieces.push({ label: pieceLabel(p), from: ids.length, to: ids.length + pid.length });
      for (const id of pid) ids.push(id);
    });
    const span = t.pooled ? { from: ranges[t.pooled[0]].from, to: ranges[t.pooled[1]].to } : null;
    out = { ids, span, truncated, pieces };
  } else {
    checkTokenization(t, 'whole');
    const { lead, trail } = ends(t);
    const midEnd = t.pieces.length - trail;
    const mid = t.pieces.slice(lead, midEnd);
    const rendered = mid.map((p) => render(p, text, r.instruction));
    const str = rendered.join('');
    const limit = r.maxLength - trail;
    if (limit < 1) throw new UserError(`--max-length ${r.maxLength} leaves no room for the text before the template's ${trail} trailing {eos}`);
    // a marked suffix of the string needs its own token count at a cut inside it (below)
    const marked = t.pooled && t.pooled[0] < midEnd && t.pooled[0] >= lead ? t.pooled[0] - lead : -1;
    const markedAt = marked < 0 ? 0 : rendered.slice(0, marked).join('').length;
    let head = prefix(str, Math.max(0, limit - b0), marked < 0 ? 0 : markedAt + 1);
    // the cut must be safe in the marked suffix alone too (it is, unless it sits right after a split
    // surrogate pair at the suffix's start): else the next cut
    while (marked >= 0 && head.cut < str.length && tok.safeCut?.(str.slice(markedAt), head.cut - markedAt, head.cut - markedAt + 1) !== head.cut - markedAt) {
      head = prefix(str, Math.max(0, limit - b0), head.cut + 1);
    }
    const whole = head.cut === str.length;
    const full = bos.concat(head.ids); // the string's ids after BOS: all of them, or more than limit
    const cut = full.length > limit ? full.slice(0, limit) : full;
    const eos = trail ? new Array<number>(trail).fill(eosOf(tok)) : [];
    const ids = cut.concat(eos);
    const pieces: Encoded['pieces'] = [
      ...(lead || b0 ? [{ label: lead ? '{bos}' : '(BOS)', from: 0, to: b0 }] : []),
      { label: `${mid.map(pieceLabel).join(' + ')} (one string)`, from: b0, to: cut.length },
      ...eos.map((_, i) => ({ label: pieceLabel(t.pieces[midEnd + i]), from: cut.length + i, to: cut.length + i + 1 })),
    ];
    let span: Span | null = null;
    if (t.pooled) {
      const [a, b] = t.pooled;
      let from: number;
      if (a === 0 && lead) from = 0;
      else if (a < midEnd) {
        // LLM2Vec's rule: the marked text's own token count, counted back from the end of the string.
        // Cut at the same safe place in both, the ids after the cut are the same, so the difference of
        // the two counts is that of their prefixes.
        const before = whole
          ? full.length - tok.pieces(str.slice(markedAt)).length
          : full.length - tok.pieces(str.slice(markedAt, head.cut)).length;
        from = Math.min(Math.max(b0, before), cut.length);
      } else from = cut.length + (a - midEnd);
      const to = b >= midEnd ? cut.length + (b - midEnd) + 1 : b === 0 && lead ? b0 : cut.length;
      span = { from, to };
    }
    out = { ids, span, truncated: full.length > limit, pieces };
  }
  if (out.span && out.span.to <= out.span.from) {
    throw new UserError(`${where}: the pooled span of template ${JSON.stringify(t.source)} has no tokens${out.truncated ? ` after truncation to ${r.maxLength}; raise --max-length` : ' (an empty sentence?)'}`);
  }
  return out;
}

/** The 0-based positions a pooling averages (one for last/first), over the span or all tokens. */
export function pooledPositions(e: Pick<Encoded, 'ids' | 'span'>, pooling: Pooling): number[] {
  const { from, to } = e.span ?? { from: 0, to: e.ids.length };
  if (pooling === 'last') return [to - 1];
  if (pooling === 'first') return [from];
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** One line saying how maxLength truncates under a rule; `hasBos` false for a tokenizer that adds no BOS (Qwen). */
export function truncationRule(tokenize: Tokenization, maxLength: number, hasBos = true): string {
  return tokenize === 'pieces'
    ? `each piece cut to ${maxLength} tokens on its own (echo-embeddings' rule)`
    : `${hasBos ? 'BOS + the' : 'the'} prompted text cut to ${maxLength} tokens, less the template's trailing {eos}, which are appended after the cut`;
}

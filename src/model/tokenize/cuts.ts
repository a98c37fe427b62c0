// Safe cuts: places where a text can be cut without changing the ids before the cut, so that the first
// N tokens of a long text come from tokenizing a prefix of it (src/model/tokenize/prefix.ts). A cut at
// b is safe when no token can span it and every step before the model sees the same text up to b;
// then the ids after b depend only on the text from b on, too.
//
//   SentencePiece-style BPE (LLaMA-2 in llama-tokenizer-js or tokenizer.json, Gemma, Metaspace): spaces
//     become '▁' and the whole string is one BPE word (no pre-tokenizer; Gemma's Split on ' ' sees no
//     spaces after its normalizer; Metaspace with split only splits more). A token spans b only if it
//     contains text[b-1] followed by '▁', so b is safe where text[b] is a space and no vocabulary entry
//     holds text[b-1] + '▁' (the vocabulary is scanned at load: none in LLaMA-2; in Gemma-3 only
//     '>▁</', so '>' is excluded). text[b-1] may not be a space or '▁' ('▁▁' entries exist).
//   Byte-level BPE with a known Split regex (GPT-2, Llama-3, Qwen2/3): BPE runs inside each regex
//     match, so b is safe where a match of the full text ends at b and the prefix gives the same
//     matches. Both hold when text[b-1] is not whitespace and text[b] is a space (every alternative
//     that takes a non-space stops before a space), or when text[b-1] is a letter and text[b] is
//     neither a letter nor a combining mark (the letter run \p{L}+ stops there). The only lookahead,
//     \s+(?!\S), is never evaluated at b, since text[b-1] is not whitespace. With an NFC normalizer,
//     neither a space nor a non-mark, non-letter character composes with what precedes it.
//   Both: added tokens are split out of the raw text first and the part after one starts afresh (with
//     its own SentencePiece prefix space), so no added token's occurrence may hold text[b-1] or text[b];
//     added tokens with lstrip/rstrip/single_word/normalized are not handled, and then no cut is offered.
// Anything else (other normalizers, pre-tokenizers, regexes, models) offers no cut: short texts are
// tokenized whole and long ones refused (prefix.ts). The property tests in
// test/model/tokenize/tokenizer-prefix.test.ts check cuts against full tokenization on random texts.

export type CutRule = (text: string, from: number, to: number) => number;

/** The code point that ends at index b (exclusive), or -1 at the start. */
function cpBefore(text: string, b: number): number {
  if (b <= 0) return -1;
  const lo = text.charCodeAt(b - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && b >= 2) {
    const hi = text.charCodeAt(b - 2);
    if (hi >= 0xd800 && hi <= 0xdbff) return ((hi - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
  }
  return lo;
}

const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;
const WS = /^[\s\u0085]$/u; // JS's \s lacks NEL, which Unicode's White_Space has: either way, no cut
const LETTER = /^\p{L}$/u;
const LETTER_OR_MARK = /^[\p{L}\p{M}]$/u;

/**
 * Added tokens at a cut: the text is split at added tokens before anything else, and each part after one
 * starts afresh (SentencePiece gives it its own prefix space), so no occurrence may hold the character
 * before the cut or the one after it.
 */
export class AddedTokenGuard {
  private readonly byChar = new Map<string, string[]>();
  private maxLength = 0;

  constructor(contents: Iterable<string>) {
    for (const s of new Set(contents)) {
      if (s.length === 0) continue;
      this.maxLength = Math.max(this.maxLength, s.length);
      for (const c of new Set(s)) {
        const list = this.byChar.get(c);
        if (list) list.push(s);
        else this.byChar.set(c, [s]);
      }
    }
  }

  /** Whether an occurrence of an added token in `text` holds text[b-1] or text[b]. */
  touches(text: string, b: number): boolean {
    if (this.maxLength === 0) return false;
    const w0 = Math.max(0, b - this.maxLength);
    const window = text.slice(w0, b + this.maxLength);
    for (const i of [b - 1, b]) {
      const list = i >= 0 && i < text.length ? this.byChar.get(text[i]) : undefined;
      if (!list) continue;
      const j = i - w0;
      for (const s of list) {
        for (let at = window.indexOf(s, Math.max(0, j - s.length + 1)); at >= 0 && at <= j; at = window.indexOf(s, at + 1)) {
          if (at + s.length > j) return true;
        }
      }
    }
    return false;
  }
}

/** Scans [from, to) for the first b that `ok` accepts (b >= 1, never inside a surrogate pair). */
function scan(text: string, from: number, to: number, ok: (b: number) => boolean): number {
  const end = Math.min(to, text.length);
  for (let b = Math.max(1, from); b < end; b++) {
    if (isLowSurrogate(text.charCodeAt(b))) continue;
    if (ok(b)) return b;
  }
  return -1;
}

/**
 * SentencePiece-style cuts: before a space whose preceding character is not a space, not '▁', and not
 * one that some vocabulary entry joins to '▁' (`joinsSpace`, from `spaceJoiners`).
 */
export function sentencePieceCuts(joinsSpace: ReadonlySet<number>, guard: AddedTokenGuard): CutRule {
  return (text, from, to) => scan(text, from, to, (b) => {
    if (text.charCodeAt(b) !== 0x20) return false;
    const p = cpBefore(text, b);
    return p !== 0x20 && p !== 0x2581 && !joinsSpace.has(p) && !guard.touches(text, b);
  });
}

/** Code points that some vocabulary entry puts right before a '▁' (other than '▁' itself). */
export function spaceJoiners(vocab: Iterable<string>): Set<number> {
  const out = new Set<number>();
  for (const v of vocab) {
    let prev = -1;
    for (const ch of v) {
      const c = ch.codePointAt(0)!;
      if (c === 0x2581 && prev !== -1 && prev !== 0x2581) out.add(prev);
      prev = c;
    }
  }
  return out;
}

/** Byte-level cuts (the regex family in the header): before a space after a non-space, or after a letter run. */
export function byteLevelCuts(guard: AddedTokenGuard): CutRule {
  return (text, from, to) => scan(text, from, to, (b) => {
    const p = String.fromCodePoint(cpBefore(text, b));
    const c = String.fromCodePoint(text.codePointAt(b)!);
    const ok = (c === ' ' && !WS.test(p)) || (LETTER.test(p) && !LETTER_OR_MARK.test(c));
    return ok && !guard.touches(text, b);
  });
}

// The Split regexes whose cuts are proven above (as tokenizer.json writes them).
const GPT2_REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
export const KNOWN_SPLIT_REGEXES: Readonly<Record<string, string>> = {
  // Llama-3 / 3.1 / 3.2
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'Llama-3',
  // Qwen2 / 2.5 / 3
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+": 'Qwen2',
  [GPT2_REGEX]: 'GPT-2',
};

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | null => (v !== null && typeof v === 'object' && !Array.isArray(v) ? v as Json : null);

/** Whether a normalizer is SentencePiece's space handling: Replace(' ' -> '▁'), optionally after Prepend('▁'). */
function isSpaceToMeta(n: Json | null): boolean {
  if (!n) return false;
  const list = n.type === 'Sequence' && Array.isArray(n.normalizers) ? n.normalizers.map(obj) : [n];
  const replace = (x: Json | null) => x?.type === 'Replace' && obj(x.pattern)?.String === ' ' && x.content === '▁';
  if (list.length === 1) return replace(list[0]);
  return list.length === 2 && list[0]?.type === 'Prepend' && list[0].prepend === '▁' && replace(list[1]);
}

/** The byte-level pre-tokenizer's Split regex (GPT-2's when ByteLevel splits by itself), or null. */
function byteLevelRegex(pre: Json | null): string | null {
  if (!pre) return null;
  if (pre.type === 'ByteLevel') return pre.use_regex === false ? null : GPT2_REGEX;
  if (pre.type !== 'Sequence' || !Array.isArray(pre.pretokenizers) || pre.pretokenizers.length !== 2) return null;
  const [split, bl] = pre.pretokenizers.map(obj);
  if (split?.type !== 'Split' || split.behavior !== 'Isolated' || split.invert === true) return null;
  if (bl?.type !== 'ByteLevel' || bl.use_regex !== false) return null;
  const re = obj(split.pattern)?.Regex;
  return typeof re === 'string' ? re : null;
}

/**
 * The cut rule for a tokenizer.json (and its tokenizer_config.json), or null with the reason none is
 * offered. `vocab` is the model's vocabulary (for the SentencePiece check).
 */
export function tokenizerJsonCuts(json: Json, cfg: Json, vocab: () => Iterable<string>): { rule: CutRule | null; why: string } {
  const model = obj(json.model);
  if (model?.type !== 'BPE' || (typeof model.dropout === 'number' && model.dropout > 0)) return { rule: null, why: 'not a deterministic BPE model' };
  if (cfg.remove_space === true || cfg.do_lowercase_and_remove_accent === true) return { rule: null, why: 'text rewritten by tokenizer_config.json' };
  const added = Array.isArray(json.added_tokens) ? json.added_tokens.map(obj) : [];
  if (added.some((a) => !a || typeof a.content !== 'string' || a.lstrip === true || a.rstrip === true || a.single_word === true || (a.normalized === true && json.normalizer))) {
    return { rule: null, why: 'added tokens that strip or are normalized' };
  }
  const guard = new AddedTokenGuard(added.map((a) => a!.content as string));
  const normalizer = obj(json.normalizer);
  const pre = obj(json.pre_tokenizer);
  const metaspace = !normalizer && pre?.type === 'Metaspace' && (pre.replacement ?? '▁') === '▁';
  if (metaspace) return { rule: sentencePieceCuts(spaceJoiners(vocab()), guard), why: 'SentencePiece-style BPE (Metaspace)' };
  if (isSpaceToMeta(normalizer)) {
    const splitOnSpace = pre?.type === 'Split' && obj(pre.pattern)?.String === ' ' && pre.invert !== true;
    if (pre && !splitOnSpace) return { rule: null, why: `a SentencePiece normalizer with the pre-tokenizer ${String(pre.type)}` };
    return { rule: sentencePieceCuts(spaceJoiners(vocab()), guard), why: 'SentencePiece-style BPE' };
  }
  const regex = byteLevelRegex(pre);
  if (regex !== null) {
    if (!(regex in KNOWN_SPLIT_REGEXES)) return { rule: null, why: 'a Split regex not known to allow cuts' };
    if (normalizer && normalizer.type !== 'NFC') return { rule: null, why: `the normalizer ${String(normalizer.type)}` };
    return { rule: byteLevelCuts(guard), why: `byte-level BPE (${KNOWN_SPLIT_REGEXES[regex]} regex)` };
  }
  return { rule: null, why: 'an unrecognized normalizer / pre-tokenizer' };
}

// The first N tokens of a text without tokenizing all of it: tokenize a prefix that ends at a safe cut
// (src/model/tokenize/cuts.ts) a little past what N tokens can cover, and grow it while it gives too
// few. Exact: the ids of a prefix ending at a safe cut are a prefix of the text's ids, so once they
// number more than N, the first N are the text's first N. Work and memory follow N, not the text: a
// 1 MB line costs what its first few thousand characters cost.
//
// Where no cut is found within CUT_SCAN characters of where one is wanted (a run with no space, or a
// tokenizer that offers no cuts), a text that ends within that distance is tokenized whole; a longer
// one is refused in one line (LongTextError, a UserError), naming the input.
import { UserError } from '../../errors.ts';
import type { Tokenizer } from '../arch/types.ts';

/** Characters scanned for a safe cut beyond where one is wanted; also the most tokenized past it without one. */
export const CUT_SCAN = 1 << 16;

/** A text whose first tokens cannot be found in bounded memory (exit 2, one line). */
export class LongTextError extends UserError {}

export interface Prefix {
  /** pieces(text.slice(0, cut)): the text's first ids (all of them when cut === text.length). */
  ids: number[];
  /** Where the text was cut; text.length when it was tokenized whole. */
  cut: number;
}

/**
 * The first ids of `tok.pieces(text)`: all of them, or (cut < text.length) more than `maxTokens` of them.
 * The cut is at least `atLeast` characters in (for callers that compare two tokenizations at one cut).
 * `where` names the input in the refusal.
 */
export function piecesPrefix(tok: Pick<Tokenizer, 'pieces' | 'safeCut' | 'description'>, text: string, maxTokens: number, atLeast = 0, where = 'the text'): Prefix {
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new Error(`piecesPrefix: maxTokens must be a non-negative integer, got ${maxTokens}`);
  const want = maxTokens + 1;
  // a token covers about 4 characters of English; start a little past 4 per token, never below atLeast
  let from = Math.max(atLeast, 4 * want + 64);
  for (;;) {
    if (from >= text.length) return { ids: tok.pieces(text), cut: text.length };
    const b = tok.safeCut ? tok.safeCut(text, from, from + CUT_SCAN) : -1;
    if (b < 0) {
      if (text.length <= from + CUT_SCAN) return { ids: tok.pieces(text), cut: text.length };
      const where1 = `${where}: ${text.length.toLocaleString('en-US')} characters`;
      throw new LongTextError(tok.safeCut
        ? `${where1} with no place to cut it within ${CUT_SCAN.toLocaleString('en-US')} characters after character ${from.toLocaleString('en-US')} (no space there), so the tokens kept cannot be found without tokenizing all of it; add spaces, split the line or shorten it`
        : `${where1}, and this tokenizer (${tok.description}) gives no safe place to cut a text, so at most ${(from + CUT_SCAN).toLocaleString('en-US')} characters are tokenized; shorten it`);
    }
    const ids = tok.pieces(text.slice(0, b));
    if (ids.length >= want) return { ids, cut: b };
    // too few: aim for what the observed characters per token say `want` needs, at least twice as far
    from = Math.max(2 * b, Math.ceil((b / Math.max(1, ids.length)) * want * 1.25));
  }
}

/**
 * The first `maxLength` ids of `tok.encode(text)` and whether any were cut, tokenizing only a prefix of
 * a long text. (`truncate(tok.encode(text), maxLength)` gives the same ids after tokenizing all of it.)
 */
export function encodeTruncated(tok: Tokenizer, text: string, maxLength: number, where = 'the text'): { ids: number[]; truncated: boolean } {
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new UserError(`maxLength must be a positive integer, got ${maxLength}`);
  const bos = tok.bosId === null ? [] : [tok.bosId];
  const p = piecesPrefix(tok, text, Math.max(0, maxLength - bos.length), 0, where);
  // a whole text: the model's own encode (it may add special tokens after the text, too)
  const ids = p.cut === text.length ? tok.encode(text) : bos.concat(p.ids);
  return { ids: ids.length > maxLength ? ids.slice(0, maxLength) : ids, truncated: ids.length > maxLength };
}

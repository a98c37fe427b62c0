// Long inputs in bounded memory (issue 24 defect 7, issue 25): the first N ids of a text come from
// tokenizing a prefix that ends at a safe cut (src/model/tokenize/cuts.ts, prefix.ts). Checked against
// full tokenization on random texts for LLaMA-2 (llama-tokenizer-js and tokenizer.json) and the real
// Qwen3, Llama-3 and Gemma-3 tokenizer.json files:
//   - every safe cut leaves the ids before it alone, and the ids after it do not depend on where the
//     text starts (what the LLM2Vec span count relies on);
//   - piecesPrefix's ids are the first ids of the whole text;
//   - encodeWithTemplate equals the same rules computed from the whole text's ids.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import type { Tokenizer } from '../../../src/model/arch/types.ts';
import { UserError } from '../../../src/errors.ts';
import { CUT_SCAN, encodeTruncated, LongTextError, piecesPrefix } from '../../../src/model/tokenize/prefix.ts';
import { encodeWithTemplate, parseTemplate, type EncodeRule, type Encoded, type Span, type Tokenization } from '../../../src/model/tokenize/template.ts';
import { loadTokenizer, truncate } from '../../../src/model/tokenize/tokenizer.ts';
import { copyDir, tempDir } from '../../helpers/damaged.ts';
import { jsonTokenizer } from '../../helpers/lenml-tokenizers.ts';
import { fixture } from '../../helpers/shared.ts';

// BELLM_PROPERTY_SEED / BELLM_PROPERTY_SCALE (a run multiplier) for longer searches by hand
const SEED = Number(process.env.BELLM_PROPERTY_SEED ?? 20250525);
const SCALE = Number(process.env.BELLM_PROPERTY_SCALE ?? 1);

const TOKENIZERS: [string, () => Tokenizer][] = [
  ['llama2 (llama-tokenizer-js)', () => loadTokenizer(fixture('tiny-llama'), { impl: 'llama-tokenizer-js', hash: { memo: null } })],
  ['llama2 (tokenizer.json)', () => loadTokenizer(fixture('tiny-llama'), { impl: 'tokenizer.json', hash: { memo: null } })],
  ['qwen3', () => jsonTokenizer('qwen3')],
  ['llama3', () => jsonTokenizer('llama3')],
  ['gemma3', () => jsonTokenizer('gemma3')],
];

// Fragments chosen to sit on both sides of every cut rule: spaces and runs of them, letters next to
// punctuation, digits, apostrophes (contractions), newlines and other whitespace, '▁', '>' before a
// space (Gemma's '>▁</'), combining marks, CJK, emoji and each model's special-token strings.
const FRAGMENTS = [
  'hello', 'World', 'the', 'a', 'x', 'café', 'naïve', '東京', '日本語', 'Ünïcödé', 'straße', 'Ελληνικά', 'IT', 'ab_cd',
  ' ', ' ', ' ', '  ', '   ', '\n', '\n\n', '\t', '\r\n', '\u00a0', '\u3000', '\u2009',
  '.', ',', '"', "'", "'s", "'S", "'ll", '>', '</', '<', '-', '...', '!?', '(', ')', '#', '==', '。', '、',
  '1234567', '3.14', '42', '0', '١٢', '▁', '▁▁', '\u0301', '\u0308', '🙂', '👍🏽', '👨‍👩‍👧',
  '<s>', '</s>', '<unk>', '<|endoftext|>', '<|im_start|>', '<|begin_of_text|>', '<bos>', '<eos>', '<start_of_turn>',
];
const fragment = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...FRAGMENTS) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 }) },
);
const text = (maxLength: number) => fc.array(fragment, { maxLength, size: 'max' }).map((a) => a.join(''));

function check<Ts extends [unknown, ...unknown[]]>(t: ExecutionContext, prop: fc.IPropertyWithHooks<Ts>, numRuns: number): void {
  t.timeout(300_000 * SCALE);
  fc.assert(prop, { seed: SEED, numRuns: Math.round(numRuns * SCALE), endOnFailure: true });
  t.pass();
}

const startsWith = (ids: readonly number[], head: readonly number[]) => head.length <= ids.length && head.every((id, i) => ids[i] === id);

for (const [name, load] of TOKENIZERS) {
  test(`${name}: every safe cut keeps the ids before it, and the ids after it do not depend on where the text starts`, (t) => {
    const tok = load();
    t.truthy(tok.safeCut, `${name} offers safe cuts`);
    let cuts = 0;
    check(t, fc.property(text(60), fc.nat(400), fc.nat(400), (s, f, o) => {
      const from = f % (s.length + 1);
      const b = tok.safeCut!(s, from, s.length);
      if (b < 0) return true;
      cuts++;
      if (b < from || b >= s.length) return false;
      const all = tok.pieces(s), head = tok.pieces(s.slice(0, b));
      if (!startsWith(all, head)) throw new Error(`cut ${b} of ${JSON.stringify(s)}: ${JSON.stringify(head)} is not a prefix of ${JSON.stringify(all)}`);
      // the same cut in the text from o on (where it is a safe cut too; not when o splits a surrogate
      // pair right before it): the same ids after it
      const start = o % b;
      if (tok.safeCut!(s.slice(start), b - start, b - start + 1) !== b - start) return true;
      const sub = tok.pieces(s.slice(start)), subHead = tok.pieces(s.slice(start, b));
      if (!startsWith(sub, subHead)) return false;
      t.deepEqual(sub.slice(subHead.length), all.slice(head.length), `${JSON.stringify(s)} cut at ${b}, started at ${start}`);
      return true;
    }), 300);
    t.true(cuts > 100, `only ${cuts} cuts found`);
  });

  test(`${name}: piecesPrefix gives the first ids of the whole text, from a prefix`, (t) => {
    const tok = load();
    let cut = 0;
    check(t, fc.property(text(250), fc.integer({ min: 0, max: 40 }), (s, max) => {
      const p = piecesPrefix(tok, s, max);
      const all = tok.pieces(s);
      if (p.cut === s.length) t.deepEqual(p.ids, all);
      else {
        cut++;
        t.true(p.ids.length > max);
        t.deepEqual(p.ids, all.slice(0, p.ids.length), JSON.stringify(s));
      }
      return true;
    }), 150);
    t.true(cut > 50, `only ${cut} texts were cut`);
  });

  test(`${name}: encodeWithTemplate on a prefix equals the rules applied to the whole text's ids`, (t) => {
    const tok = load();
    const templates: [string, Tokenization, string?][] = [
      ['The representative word for sentence {text} is:"', 'whole'],
      ['{instruction} {text*}', 'whole', 'Retrieve semantically similar text:'],
      ['[INST] {instruction} {(*}{text} [/INST]{)}', 'whole', 'Q:'],
      ['Instruct: {instruction}\nQuery: {text}{eos*}', 'whole', 'Find it.'],
      ['{bos}Rewrite: {text}\nAgain: {text*}{eos}', 'pieces'],
    ];
    check(t, fc.property(text(200), fc.integer({ min: 2, max: 48 }), fc.nat(templates.length - 1), (s, maxLength, k) => {
      const [src, tokenize, instruction] = templates[k];
      const r: EncodeRule = { template: parseTemplate(src), tokenize, maxLength, instruction };
      // an empty pooled span is refused by both
      let got: Pick<Encoded, 'ids' | 'span' | 'truncated'> | 'empty span', want: typeof got;
      try {
        const e = encodeWithTemplate(tok, r, s);
        got = { ids: e.ids, span: e.span, truncated: e.truncated };
      } catch (e) {
        if (!/has no tokens/.test((e as Error).message)) throw e;
        got = 'empty span';
      }
      try { want = reference(tok, r, s); } catch { want = 'empty span'; }
      t.deepEqual(got, want, `${src} ${maxLength} ${JSON.stringify(s)}`);
      return true;
    }), 120);
  });

  test(`${name}: a 1 MB text is cut after tokenizing a prefix of it; a run with no place to cut is refused in one line`, (t) => {
    const tok = load();
    const words = Array.from({ length: 100_000 }, (_, i) => ['The', 'quick', 'brown fox', 'jumps,', '"over"', 'café', '東京', '12345', 'it\'s', '\n', 'x.'][(i * 7919) % 11]).join(' ');
    t.true(words.length > 400_000);
    let longest = 0;
    const spy: Tokenizer = { ...tok, pieces: (s: string) => { longest = Math.max(longest, s.length); return tok.pieces(s); } };
    const p = piecesPrefix(spy, words, 512);
    t.true(longest < 20_000, `tokenized ${longest} characters for 512 tokens`);
    t.true(p.cut < words.length && p.ids.length > 512);
    t.deepEqual(p.ids.slice(0, 512), tok.pieces(words.slice(0, 20_000)).slice(0, 512));
    const e = encodeTruncated(tok, words, 512);
    t.true(e.truncated);
    t.deepEqual(e.ids, truncate(tok.encode(words.slice(0, 20_000)), 512));
    // no space in the first CUT_SCAN characters past the wanted length: refused, naming the input
    const run = 'a'.repeat(CUT_SCAN + 10_000) + ' b';
    const err = t.throws(() => piecesPrefix(tok, run, 512, 0, 'line 3'), { instanceOf: LongTextError });
    t.true(err instanceof UserError);
    t.regex(err!.message, /^line 3: 75,538 characters with no place to cut it within 65,536 characters after character 2,116 \(no space there\).*; add spaces, split the line or shorten it$/);
    t.notRegex(err!.message, /\n/);
    t.throws(() => encodeWithTemplate(tok, { template: parseTemplate('{text}'), tokenize: 'whole', maxLength: 512 }, run, 'sentence 1 ("aaa")'), { message: /^sentence 1 \("aaa"\): 75,538 characters with no place to cut/ });
    // a run that ends within reach is tokenized whole
    const short = 'a'.repeat(CUT_SCAN - 1000);
    t.deepEqual(piecesPrefix(tok, short, 512).ids, tok.pieces(short));
  });
}

test('a tokenizer.json whose pre-tokenization is not known to allow cuts offers none: short texts whole, long ones refused', (t) => {
  const dir = copyDir(fixture('tiny-llama'), tempDir(t), ['tokenizer.json', 'tokenizer_config.json']);
  const file = path.join(dir, 'tokenizer.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  json.normalizer = { type: 'Sequence', normalizers: [{ type: 'Lowercase' }, ...json.normalizer.normalizers] };
  fs.writeFileSync(file, JSON.stringify(json));
  const tok = loadTokenizer(dir, { hash: { memo: null } });
  t.is(tok.safeCut, undefined);
  const words = 'Hello World '.repeat(1000);
  t.deepEqual(piecesPrefix(tok, words, 16).ids, tok.pieces(words));
  t.throws(() => piecesPrefix(tok, 'Hello World '.repeat(10_000), 16, 0, 'line 1'), { instanceOf: LongTextError, message: /^line 1: 120,000 characters, and this tokenizer \(.*\) gives no safe place to cut a text, so at most 65,668 characters are tokenized; shorten it$/ });
});

/** The template rules computed from whole-text ids (template.ts as it was before prefixes; BOS as the tokenizer says). */
function reference(tok: Tokenizer, r: EncodeRule, text: string): { ids: number[]; span: Span | null; truncated: boolean } {
  const t = r.template;
  const bos = tok.bosId === null ? [] : [tok.bosId];
  const b0 = bos.length;
  const render = (k: number) => t.pieces[k].parts.map((x) => (x.kind === 'fixed' ? x.text : x.kind === 'text' ? text : x.kind === 'instruction' ? r.instruction! : '')).join('');
  const kind = (k: number) => (t.pieces[k].group ? 'group' : t.pieces[k].parts[0].kind);
  let out: { ids: number[]; span: Span | null; truncated: boolean };
  if (r.tokenize === 'pieces') {
    const ids = bos.slice();
    const ranges: Span[] = [];
    let truncated = false;
    t.pieces.forEach((_, k) => {
      if (k === 0 && kind(k) === 'bos') return void ranges.push({ from: 0, to: b0 });
      let pid = kind(k) === 'eos' ? [tok.eosId!] : tok.pieces(render(k));
      if (pid.length > r.maxLength) { pid = pid.slice(0, r.maxLength); truncated = true; }
      ranges.push({ from: ids.length, to: ids.length + pid.length });
      ids.push(...pid);
    });
    out = { ids, span: t.pooled ? { from: ranges[t.pooled[0]].from, to: ranges[t.pooled[1]].to } : null, truncated };
  } else {
    const lead = kind(0) === 'bos' ? 1 : 0;
    let trail = 0;
    while (trail < t.pieces.length - lead && kind(t.pieces.length - 1 - trail) === 'eos') trail++;
    const midEnd = t.pieces.length - trail;
    const mid = Array.from({ length: midEnd - lead }, (_, i) => render(lead + i));
    const full = [...bos, ...tok.pieces(mid.join(''))];
    const limit = r.maxLength - trail;
    const cut = full.slice(0, limit);
    const ids = [...cut, ...new Array<number>(trail).fill(tok.eosId!)];
    let span: Span | null = null;
    if (t.pooled) {
      const [a, b] = t.pooled;
      let from: number;
      if (a === 0 && lead) from = 0;
      else if (a < midEnd) from = Math.min(Math.max(b0, full.length - tok.pieces(mid.slice(a - lead).join('')).length), cut.length);
      else from = cut.length + (a - midEnd);
      span = { from, to: b >= midEnd ? cut.length + (b - midEnd) + 1 : b === 0 && lead ? b0 : cut.length };
    }
    out = { ids, span, truncated: full.length > limit };
  }
  if (out.span && out.span.to <= out.span.from) throw new Error('empty span');
  return out;
}

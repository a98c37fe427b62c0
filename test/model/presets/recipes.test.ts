// The recipe presets against their official rules, written out here independently of
// src/model/tokenize/template.ts: token ids from SentencePiece ids of each piece (tok.encode(piece) without its
// BOS; the tokenizer reproduces the goldens' sentencepieceIds, checked first), the positions each
// official pooling averages, and the pooled vectors against the decoder's per-token hidden states
// (proven against the float64 goldens) averaged by hand over those positions.
import test from 'ava';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import type { Pooling } from '../../../src/backend/ops.ts';
import { loadTasks, runSts } from '../../../src/experiments/run/sts.ts';
import { allSentences } from '../../../src/tasks/load.ts';
import { runDegrade, pointOptions } from '../../../src/experiments/run/degrade.ts';
import { sweepBatch } from '../../../src/experiments/run/sweep.ts';
import { packBatch, packBatchBillmCompat } from '../../../src/model/arch/batch.ts';
import { Embedder, encodeAll } from '../../../src/model/embed/embedder.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import { getPreset, PRESETS, presetStartIndex, preprocess, resolveSettings } from '../../../src/model/presets/presets.ts';
import { RECIPE_PRESETS } from '../../../src/model/presets/recipes.ts';
import { pooledPositions } from '../../../src/model/tokenize/template.ts';
import { loadTokenizer } from '../../../src/model/tokenize/tokenizer.ts';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixture, goldens, sentevalDir } from '../../helpers/shared.ts';
import { firstFailure } from '../../helpers/tolerance.ts';

const g = goldens();
const tok = loadTokenizer(fixture('tiny-llama'));
const SP = (s: string): number[] => tok.encode(s).slice(1);
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
const H = 64;

interface Ref { ids: number[]; positions: number[]; weighted?: boolean }
const last = (ids: number[]): Ref => ({ ids, positions: [ids.length - 1] });

/**
 * The batcher loop of AnglE's examples/NLI/eval_nli.py (3d006ee) and PromptEOL's evaluation.py
 * (kongds/scaling_sentemb 656ddec), written out from the scripts:
 *   if len(s) > 0 and s[-1] not in '.?"\'': s += '.'
 *   s = s.replace('"', '\'')
 *   if len(s) > 0 and '?' == s[-1]: s = s[:-1] + '.'
 */
function scriptBatcher(x: string): string {
  let s = x;
  if (s.length > 0 && !['.', '?', '"', "'"].includes(s.slice(-1))) s = `${s}.`;
  s = s.split('"').join("'");
  if (s.length > 0 && s.slice(-1) === '?') s = `${s.slice(0, -1)}.`;
  return s;
}

/** Each recipe's rule as its official code states it (x: the raw sentence). */
const OFFICIAL: Record<string, (x: string) => Ref> = {
  // BeLLM eval_sts.py: the prompted string tokenized at once, last token
  'bellm-sts': (x) => last(tok.encode(`The representative word for sentence ${preprocess(x, 'bellm-sts')} is:"`)),
  // echo issue 8 + EchoParser: <s>, each piece alone, mean over the second sentence only
  echo: (x) => {
    const head = [1, ...SP('Rewrite the following paragraph:'), ...SP(`${x}.`), ...SP('The rewritten paragraph:')];
    return { ids: [...head, ...SP(x)], positions: range(head.length, head.length + SP(x).length) };
  },
  // echo_embeddings.py / example.py: <s>Instruct:{!%%prompt%%,}\nQuery:{!%%text%%}\nQuery again:{%%text%%}{</s>}
  'echo-instruct': (x) => {
    const head = [1, ...SP('Instruct:'), ...SP('Retrieve semantically similar text,'), ...SP('\nQuery:'), ...SP(x), ...SP('\nQuery again:')];
    const ids = [...head, ...SP(x), 2];
    return { ids, positions: range(head.length, ids.length) };
  },
  // llm2vec.py: tokenizer("instruction text") with BOS; embed_mask = the last len(tokenizer(text, no specials)) positions
  llm2vec: (x) => {
    const ids = tok.encode(`Retrieve semantically similar text: ${x}`);
    return { ids, positions: range(ids.length - SP(x).length, ids.length) };
  },
  // e5-mistral card: tokenizer(max_length - 1) then eos_token_id appended; last_token_pool
  e5: (x) => last([...tok.encode(`Instruct: Retrieve semantically similar text.\nQuery: ${x}`), 2]),
  // tevatron repllama: encode("query: " + text, no specials) + [eos], prepare_for_model adds BOS; last token
  repllama: (x) => last([1, ...SP(`query: ${x}`), 2]),
  // SGPT README: tokenizer(texts) (BOS added by LLaMA's tokenizer), weights 1..n
  sgpt: (x) => { const ids = tok.encode(x); return { ids, positions: range(0, ids.length), weighted: true }; },
  // AnglE eval_nli.py (the STS table): its batcher's preprocessing, then AnglE.encode: Prompts.A.format(text=...),
  // tokenizer with BOS, last non-padding token
  angle: (x) => last(tok.encode(`Summarize sentence "${scriptBatcher(x)}" in one word:"`)),
  // PromptEOL evaluation.py: the same batcher rule, the template's *sent 0* replaced, stripped; last token
  prompteol: (x) => last(tok.encode(`This sentence : "${scriptBatcher(x)}" means in one word:"`.trim())),
};

const sentences = [...g.sentences.slice(0, 12), ...g.sentences.slice(46, 50)];

test('the tokenizer is SentencePiece on the goldens: whole prompts, and each sentence tokenized alone', (t) => {
  g.prompts.forEach((p, i) => t.deepEqual(tok.encode(p), g.sentencepieceIds[i]));
  // plain case: a sentence tokenized on its own gives exactly its ids inside the golden prompt
  // (BOS + 5 prefix ids + sentence + ' is:"'), so per-piece and whole tokenization agree on it
  g.sentences.forEach((s, i) => t.deepEqual(SP(preprocess(s, 'bellm-sts')), g.sentencepieceIds[i].slice(6, -2), `sentence ${i}`));
});

test('every recipe preset is in the table with its origin and the official settings', (t) => {
  t.deepEqual(Object.keys(RECIPE_PRESETS), ['echo', 'echo-instruct', 'llm2vec', 'e5', 'repllama', 'sgpt', 'angle']);
  for (const p of Object.values(RECIPE_PRESETS)) {
    t.is(PRESETS[p.name], p);
    t.true((p.origin ?? []).length > 0, p.name);
    // only AnglE's STS script preprocesses (eval_nli.py); the others embed the text as given
    t.is(p.preprocess, p.name === 'angle' ? 'bellm-degrade' : 'none');
  }
  t.true((PRESETS.prompteol.origin ?? []).some((o) => o.repository === 'kongds/scaling_sentemb' && o.commit !== null));
  t.is(presetStartIndex(getPreset('llm2vec'), 4), 0);
  for (const p of ['echo', 'echo-instruct', 'e5', 'repllama', 'sgpt', 'angle', 'bellm-sts']) t.is(presetStartIndex(getPreset(p), 4), null);
});

for (const name of Object.keys(OFFICIAL)) {
  test(`${name}: token ids and pooled positions follow the official code`, (t) => {
    const s = resolveSettings(name, {});
    const enc = encodeAll(tok, sentences, s);
    sentences.forEach((x, i) => {
      const want = OFFICIAL[name](x);
      t.deepEqual(enc[i].ids, want.ids, `ids of "${x}"`);
      t.deepEqual(pooledPositions(enc[i], s.pooling), want.positions, `positions of "${x}"`);
      t.false(enc[i].truncated);
    });
  });
}

const model = loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora') });
const e = new Embedder(model, tok, new CpuBackend());

/** The hand average of the final hidden states of `ids` over `positions` (weights 1..n if weighted). */
function byHand(ids: number[], positions: number[], k: number | null, weighted = false): Float64Array {
  const hs = e.decoder.hiddenStates(packBatch([ids]), { billmStartIndex: k, layer: 'final' });
  const out = new Float64Array(H);
  let wsum = 0;
  positions.forEach((p, j) => {
    const w = weighted ? j + 1 : 1;
    wsum += w;
    for (let c = 0; c < H; c++) out[c] += w * hs[p * H + c];
  });
  return out.map((v) => v / wsum);
}

for (const name of Object.keys(OFFICIAL)) {
  test(`${name}: pooled vectors equal the hidden states averaged by hand over the official positions`, (t) => {
    const s = resolveSettings(name, {});
    const k = presetStartIndex(getPreset(name), 4);
    const got = e.embed(sentences, { ...s, billmStartIndex: k });
    const want = sentences.map((x) => { const r = OFFICIAL[name](x); return byHand(r.ids, r.positions, k, r.weighted); });
    t.is(firstFailure(name, got, want, 1e-5, 0.999999), null);
  });
}

test('llm2vec (every layer bidirectional) against the float64 goldens\' billmStartIndex 0 cases where pooling coincides', (t) => {
  const k = presetStartIndex(getPreset('llm2vec'), 4);
  t.is(k, 0);
  // the llm2vec attention with the goldens' prompt: its mean and last token are the goldens' avg and last
  for (const pooling of ['avg', 'last'] as Pooling[]) {
    const s = resolveSettings('llm2vec', { prompt: 'bellm', preprocess: 'bellm-sts', maxLength: g.maxLength, pooling });
    const got = e.embed(g.sentences, { ...s, billmStartIndex: k });
    const want = g.cases.find((c) => c.lora === 'tiny-lora' && c.billmStartIndex === 0 && c.nLayers === null)!.pooling[pooling];
    t.is(firstFailure(`k=0 ${pooling}`, got, want), null);
  }
  // hiddenStates at k=0 are the goldens' (their mean and last row), so a span average over them is the
  // llm2vec span mean: here the sentence and the prompt's end, counted back from the end (LLM2Vec's rule)
  const s = resolveSettings('llm2vec', { prompt: 'The representative word for sentence {(*}{text} is:"{)}', preprocess: 'bellm-sts' });
  const got = e.embed(g.sentences.slice(0, 20), { ...s, billmStartIndex: 0 });
  const gold = g.cases.find((c) => c.lora === 'tiny-lora' && c.billmStartIndex === 0 && c.nLayers === null)!.pooling;
  t.is(firstFailure('hidden states k=0, mean of all', g.sentencepieceIds.slice(0, 20).map((ids) => byHand(ids, range(0, ids.length), 0)), gold.avg.slice(0, 20)), null);
  t.is(firstFailure('span mean', got, g.sentencepieceIds.slice(0, 20).map((ids) => byHand(ids, range(6, ids.length), 0)), 1e-5, 0.999999), null);
});

test('span pooling with the BiLLM compat mask: padded batch as given, pooled over each span', (t) => {
  const s = resolveSettings('echo-instruct', { mask: 'billm' });
  const batch8 = g.sentences.slice(0, 8);
  const got = e.embed(batch8, { ...s, billmStartIndex: 2, batchSize: 8 });
  const enc = encodeAll(tok, batch8, s);
  const padded = packBatchBillmCompat(enc.map((x) => x.ids), 0);
  const hs = e.decoder.hiddenStates(padded, { billmStartIndex: 2, layer: 'final' });
  const want = enc.map((x, j) => {
    const v = new Float64Array(H);
    const pos = pooledPositions(x, 'avg');
    for (const p of pos) for (let c = 0; c < H; c++) v[c] += hs[(padded.starts[j] + p) * H + c] / pos.length;
    return v;
  });
  t.is(firstFailure('compat span', got, want, 1e-5, 0.999999), null);
  // pad keys visible in bidirectional layers: the compat numbers differ from correct masking
  const correct = e.embed(batch8, { ...resolveSettings('echo-instruct', {}), billmStartIndex: 2 });
  t.not(firstFailure('compat vs correct', got, correct, 1e-6, 1), null);
  // spans covering every valid token reproduce the goldens' compat numbers (no adapter)
  const base = loadModel(fixture('tiny-llama'));
  const dec = new Embedder(base, tok, new CpuBackend()).decoder;
  for (const c of g.billmMaskCompat) {
    const ids = c.sentences.map((i) => g.inputIds[i]);
    const b = packBatchBillmCompat(ids, c.padId, ids.map((x) => ({ from: 0, to: x.length })));
    const flat = dec.forward(b, { billmStartIndex: c.billmStartIndex, poolings: ['avg', 'last'] });
    for (const p of ['avg', 'last'] as const) {
      const vecs = ids.map((_, j) => flat[p]!.subarray(j * H, (j + 1) * H));
      t.is(firstFailure(`compat k=${c.billmStartIndex} ${p}`, vecs, c.pooling[p]), null);
    }
  }
});

test('the shared-prefix sweep pools every k over the span (bit for bit an independent run)', (t) => {
  const s = resolveSettings('echo', {});
  const enc = encodeAll(tok, g.sentences, s);
  const batch = packBatch(enc.map((x) => x.ids), enc.map((x) => x.span));
  const r = sweepBatch(e.decoder, batch, [0, 2, 3, 4], 'bidirectional', 'avg');
  for (const k of [0, 2, 3, 4]) {
    const ref = e.decoder.forward(batch, { billmStartIndex: k === 4 ? null : k, poolings: ['avg'] }).avg!;
    t.deepEqual(Array.from(r.pooled.get(k)!), Array.from(ref), `k=${k}`);
  }
});

test('degrade with a span preset: rows equal independent sts runs; truncation is counted', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-recipes-'));
  const stsb = loadTasks(['STSBenchmark'], sentevalDir);
  const s = resolveSettings('echo', {});
  const d = runDegrade(e, {
    tasks: stsb, dataDir: sentevalDir, settings: s, mode: 'bidirectional', layers: [0, 4], allLayers: [0, 4],
    shard: null, out: join(dir, 'd.json'), cacheDir: join(dir, 'cache'), quiet: true,
  });
  for (const k of [0, 4]) {
    const po = pointOptions(k, 4, 'bidirectional', s);
    const sts = runSts(e, { tasks: stsb, dataDir: sentevalDir, settings: s, billmStartIndex: po.billmStartIndex, nLayers: null, cacheDir: null, sentenceStats: false, quiet: true });
    t.deepEqual(d.rows.find((r) => r.k === k)!.table, sts.table, `k=${k}`);
    t.like(sts.settings, { preset: 'echo', tokenize: 'pieces', pooling: 'avg', billmStartIndex: po.billmStartIndex });
  }
  t.deepEqual(d.truncation, { rule: d.truncation!.rule, inputs: d.truncation!.inputs, truncated: 0 });
  // bellm-degrade cuts at 64 tokens: the count is the number of unique STS-B sentences whose prompt is longer
  const deg = resolveSettings('bellm-degrade', {});
  const r = runSts(e, { tasks: stsb, dataDir: sentevalDir, settings: deg, billmStartIndex: null, nLayers: null, cacheDir: null, sentenceStats: false, quiet: true });
  const uniq = allSentences(stsb[0]);
  const long = uniq.filter((x) => tok.encode(`Summarize sentence "${preprocess(x, 'bellm-degrade')}" in one word:"`).length > 64).length;
  t.true(long > 0);
  t.is(r.truncation!.inputs, uniq.length);
  t.is(r.truncation!.truncated, long);
});

test('on all STS-B test sentences, echo\'s per-piece ids equal the confirmed string tokenized whole, and llm2vec\'s counted-back span is exactly the sentence\'s ids', (t) => {
  const xs = allSentences(loadTasks(['STSBenchmark'], sentevalDir)[0]);
  t.is(xs.length, 2551);
  const echo = encodeAll(tok, xs, resolveSettings('echo', {}));
  const l2v = encodeAll(tok, xs, resolveSettings('llm2vec', {}));
  let echoSame = 0, spanSame = 0;
  xs.forEach((x, i) => {
    if (JSON.stringify(echo[i].ids) === JSON.stringify(tok.encode(`Rewrite the following paragraph: ${x}. The rewritten paragraph: ${x}`))) echoSame++;
    const { from, to } = l2v[i].span!;
    if (JSON.stringify(l2v[i].ids.slice(from, to)) === JSON.stringify(SP(x))) spanSame++;
  });
  t.is(echoSame, xs.length);
  t.is(spanSame, xs.length);
});

test("angle and prompteol give the official scripts' token ids on every scored STS sentence (quotes, questions, no final punctuation, long text)", (t) => {
  const tasks = loadTasks(['STS12', 'STS13', 'STS14', 'STS15', 'STS16', 'STSBenchmark', 'SICKRelatedness'], sentevalDir);
  const all = [...new Set(tasks.flatMap((x) => allSentences(x)))];
  t.true(all.some((x) => x.includes('"')) && all.some((x) => x.endsWith('?')) && all.some((x) => !/[.?"']$/.test(x)), 'the data has each case');
  for (const name of ['angle', 'prompteol']) {
    const s = resolveSettings(name, {});
    const enc = encodeAll(tok, all, s);
    let differ = 0, first = '';
    all.forEach((x, i) => {
      const want = OFFICIAL[name](x).ids;
      if (enc[i].ids.length !== want.length || enc[i].ids.some((id, j) => id !== want[j])) {
        differ++;
        first ||= x;
      }
    });
    t.is(differ, 0, `${name}: ${differ} of ${all.length} sentences tokenize otherwise than the script, first: ${JSON.stringify(first)}`);
  }
});

test("llm2vec: a user's --instruction is stripped and an empty one gives the text alone, as llm2vec.py's _convert_to_str", (t) => {
  // llm2vec.py: f"{instruction.strip()} !@#$%^&*(){text}" if instruction else f"!@#$%^&*(){text}", the marker then removed;
  // embed_mask = the last len(tokenizer(text, no specials)) positions
  const official = (instruction: string, x: string): Ref => {
    const ids = tok.encode(instruction ? `${instruction.trim()} ${x}` : x);
    return { ids, positions: range(ids.length - SP(x).length, ids.length) };
  };
  for (const instruction of ['  Retrieve semantically similar text:\t', 'Find the paraphrase:', '']) {
    const s = resolveSettings('llm2vec', { instruction });
    const enc = encodeAll(tok, sentences, s);
    sentences.forEach((x, i) => {
      const want = official(instruction, x);
      t.deepEqual(enc[i].ids, want.ids, `${JSON.stringify(instruction)}: ids of "${x}"`);
      t.deepEqual(pooledPositions(enc[i], s.pooling), want.positions, `${JSON.stringify(instruction)}: positions of "${x}"`);
    });
  }
  t.is(resolveSettings('llm2vec', { instruction: '' }).instruction, undefined, 'the results record what ran: no instruction');
  t.is(resolveSettings('llm2vec', { instruction: ' a: ' }).instruction, 'a:');
});

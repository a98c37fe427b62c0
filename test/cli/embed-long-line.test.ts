// Issue 24 defect 7: a long input line crashed `embed` (1 MB: "Maximum call stack size exceeded" after
// 550 MB; 100 MB: out of heap). Now the child runs under a 256 MB heap cap (the bound is the cap, not a
// clock): a 1 MB line of words is truncated to the preset's 512 tokens from a prefix of it, with the
// ids a short prefix gives; a 1 MB line without a space is refused in one line, naming the line.
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAll } from '../../src/model/embed/embedder.ts';
import { resolveSettings } from '../../src/model/presets/presets.ts';
import { loadTokenizer } from '../../src/model/tokenize/tokenizer.ts';
import { cli } from '../helpers/cli.ts';
import { fixture } from '../helpers/shared.ts';

const dir = mkdtempSync(join(tmpdir(), 'bb-long-line-'));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));
const M = ['--model', fixture('tiny-llama'), '--cache-dir', join(dir, 'cache')];
const HEAP_CAP = { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-old-space-size=256`.trim() };
const MB = 1 << 20;

function wordsLine(chars: number): string {
  const words = ['The', 'quick', 'brown fox', 'jumps,', '"over"', 'café', '東京', '12345', "it's", 'x.'];
  const out: string[] = [];
  for (let n = 0, i = 0; n < chars; i++) {
    const w = words[(i * 7919) % words.length];
    out.push(w);
    n += w.length + 1;
  }
  return out.join(' ');
}

test('embed: a 1 MB line is truncated to the preset\'s max length under a 256 MB heap, with the ids of its prefix', async (t) => {
  const long = wordsLine(MB);
  const input = join(dir, 'long.txt'), output = join(dir, 'long.jsonl');
  writeFileSync(input, `A man is playing a guitar.\n${long}\nA woman slices an onion.\n`);
  const r = await cli(['embed', ...M, '--input', input, '--output', output, '--with-tokens'], { env: HEAP_CAP });
  t.is(r.code, 0, r.stderr);
  const rows = readFileSync(output, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { text: string; ids: number[]; embedding: number[] });
  t.is(rows.length, 3);
  t.is(rows[1].text, long);
  const s = resolveSettings('bellm-sts', {});
  t.is(s.maxLength, 512);
  t.is(rows[1].ids.length, 512);
  // the first 512 ids of the whole line are those of its first 20,000 characters (about 5,000 tokens)
  t.deepEqual(rows[1].ids, encodeAll(loadTokenizer(fixture('tiny-llama')), [long.slice(0, 20_000)], s)[0].ids);
  t.true(rows[1].embedding.every(Number.isFinite));
});

test('embed: a 1 MB line without a space is refused in one line (exit 2) naming the line, under a 256 MB heap', async (t) => {
  const input = join(dir, 'nospace.txt'), output = join(dir, 'nospace.jsonl');
  writeFileSync(input, `A man is playing a guitar.\n${'a'.repeat(MB)}\n`);
  const r = await cli(['embed', ...M, '--input', input, '--output', output], { env: HEAP_CAP });
  t.is(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, r.stderr);
  t.regex(lines[0], /^bellm-bench: sentence 2 \("a{40}"\): 1,048,6\d\d characters with no place to cut it within 65,536 characters .*; add spaces, split the line or shorten it$/);
});

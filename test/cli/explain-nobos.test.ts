// explain on a tokenizer without BOS (Qwen): it names no BOS that is not there, and position 0 is text.
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { explainLines } from '../../src/cli/commands/explain.ts';
import { resolveSettings } from '../../src/model/presets/presets.ts';
import { loadTokenizer } from '../../src/model/tokenize/tokenizer.ts';
import { writeTinyArch } from '../helpers/tiny-arch.ts';

test('explain with the Qwen tokenizer: no BOS in the rule or the pooling line, the first token is the prompt', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bb-explain-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeTinyArch(dir, 'qwen3');
  const tok = loadTokenizer(dir);
  const lines = explainLines(tok, resolveSettings('qwen3-embedding', {}), 'A man?');
  const rule = lines.find((l) => l.startsWith('tokenize:'))!;
  t.regex(rule, /^tokenize: {4}whole \(the prompted text cut to 8192 tokens.*; this tokenizer adds no BOS\)$/);
  t.is(lines.find((l) => l.startsWith('pooling:')), 'pooling:     last: the last token of the whole sequence');
  t.regex(lines.find((l) => /^\s+0\s/.test(l))!, /^\s+0\s+\d+\s+"In"/);
});

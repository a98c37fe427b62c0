// Content hashes of model files: streamed, remembered per (path, inode, size, mtime, ctime), re-read with
// verify, and a memo that survives concurrent writers and torn records.
import test from 'ava';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../../src/errors.ts';
import { defaultMemoPath, hashFile, sha256Stream } from '../../../src/model/formats/file-hash.ts';
import { hashModelFiles, weightFileNames } from '../../../src/model/formats/model-files.ts';
import { tempDir } from '../../helpers/damaged.ts';
import { fixture, repoRoot } from '../../helpers/shared.ts';

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

test('hashFile is the sha256 of the bytes; the memo remembers it and is trusted until the file changes', (t) => {
  const dir = tempDir(t);
  const memo = path.join(dir, 'memo', 'hashes.jsonl');
  const f = path.join(dir, 'w.bin');
  fs.writeFileSync(f, 'first weights');
  t.is(hashFile(f, { memo }), sha('first weights'));
  t.is(fs.readFileSync(memo, 'utf8').trim().split('\n').filter(Boolean).length, 1);
  // a second call answers from the memo: no new record
  t.is(hashFile(f, { memo }), sha('first weights'));
  t.is(fs.readFileSync(memo, 'utf8').trim().split('\n').filter(Boolean).length, 1);
});

test('a retrained file at the same path, same size, mtime set back, is hashed again (ctime changed)', async (t) => {
  const dir = tempDir(t);
  const memo = path.join(dir, 'hashes.jsonl');
  const f = path.join(dir, 'w.bin');
  fs.writeFileSync(f, 'AAAA');
  const T = 1_700_000_000; // whole seconds: set back exactly
  fs.utimesSync(f, T, T);
  const before = fs.statSync(f);
  t.is(hashFile(f, { memo }), sha('AAAA'));
  await new Promise((r) => setTimeout(r, 20));
  const fd = fs.openSync(f, 'r+');
  fs.writeSync(fd, 'BBBB', 0);           // in place: same inode, same size
  fs.closeSync(fd);
  fs.utimesSync(f, T, T);
  t.is(fs.statSync(f, { bigint: true }).mtimeNs, fs.statSync(f, { bigint: true }).mtimeNs);
  t.deepEqual([fs.statSync(f).mtimeMs, fs.statSync(f).ino, fs.statSync(f).size], [before.mtimeMs, before.ino, before.size]);
  t.is(hashFile(f, { memo }), sha('BBBB'));
  // replaced by a new file (new inode) of the same size and mtime
  const g = path.join(dir, 'new.bin');
  fs.writeFileSync(g, 'CCCC');
  fs.utimesSync(g, T, T);
  fs.renameSync(g, f);
  t.is(hashFile(f, { memo }), sha('CCCC'));
});

test('verify re-reads the file even when the memo has it, and says when the memo was wrong', (t) => {
  const dir = tempDir(t);
  const memo = path.join(dir, 'hashes.jsonl');
  const f = path.join(dir, 'w.bin');
  fs.writeFileSync(f, 'real weights');
  hashFile(f, { memo });
  // A record with a valid checksum but a wrong hash for the exact same key (what a bit-for-bit restore
  // of size, mtime, ctime and inode would need): trusted without verify, corrected with it.
  const line = fs.readFileSync(memo, 'utf8').split('\n').find((l) => l.startsWith('{'))!;
  const rec = JSON.parse(line);
  rec.sha256 = sha('stale');
  rec.check = createHash('sha256').update([1, rec.path, rec.dev, rec.ino, rec.size, rec.mtimeNs, rec.ctimeNs, rec.sha256].join('\0')).digest('hex').slice(0, 16);
  fs.appendFileSync(memo, `\n${JSON.stringify(rec)}\n`);
  t.is(hashFile(f, { memo }), sha('stale'));
  const notes: string[] = [];
  t.is(hashFile(f, { memo, verify: true, log: (m) => notes.push(m) }), sha('real weights'));
  t.is(notes.length, 1);
  t.regex(notes[0], /content differs from the remembered hash/);
  t.is(hashFile(f, { memo }), sha('real weights'));
});

test('damaged and torn memo records are ignored (the file is hashed again), never trusted', (t) => {
  const dir = tempDir(t);
  const memo = path.join(dir, 'hashes.jsonl');
  const f = path.join(dir, 'w.bin');
  fs.writeFileSync(f, 'weights');
  hashFile(f, { memo });
  const text = fs.readFileSync(memo, 'utf8');
  // flip one hex digit of the stored hash: the record's checksum no longer matches
  const damaged = text.replace(/"sha256":"(.)/, (_, c) => `"sha256":"${c === '0' ? '1' : '0'}`);
  fs.writeFileSync(memo, `${damaged}{"v":1,"path":"${f}","sha2`); // plus a torn record at the end
  t.is(hashFile(f, { memo }), sha('weights'));
  // a new record was appended after the torn one and is readable
  const good = fs.readFileSync(memo, 'utf8').split('\n').filter((l) => l.startsWith('{') && l.endsWith('}'));
  t.true(good.some((l) => JSON.parse(l).sha256 === sha('weights')));
});

test('concurrent writers (child processes) leave a memo of whole records', async (t) => {
  const dir = tempDir(t);
  const memo = path.join(dir, 'hashes.jsonl');
  const n = 6, per = 25;
  for (let p = 0; p < n; p++) for (let i = 0; i < per; i++) fs.writeFileSync(path.join(dir, `f${p}-${i}`), `file ${p} ${i}`);
  const script = `import { hashFile } from ${JSON.stringify(path.join(repoRoot, 'src/model/formats/file-hash.ts'))};
    const [dir, memo, p, per] = process.argv.slice(1);
    for (let i = 0; i < Number(per); i++) hashFile(dir + '/f' + p + '-' + i, { memo });`;
  const run = promisify(execFile);
  await Promise.all(Array.from({ length: n }, (_, p) =>
    run(process.execPath, ['--import=tsx', '--input-type=module', '-e', script, dir, memo, String(p), String(per)], { cwd: repoRoot })));
  const records = fs.readFileSync(memo, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
  t.is(records.length, n * per);
  // every file answers from the memo now (no new records) with its true hash
  for (let p = 0; p < n; p++) for (let i = 0; i < per; i++) t.is(hashFile(path.join(dir, `f${p}-${i}`), { memo }), sha(`file ${p} ${i}`));
  t.is(fs.readFileSync(memo, 'utf8').split('\n').filter((l) => l !== '').length, n * per);
});

test('big files are streamed in chunks with progress; memory does not grow with the file', (t) => {
  const dir = tempDir(t);
  const f = path.join(dir, 'big.bin');
  const size = 96 << 20;
  fs.writeFileSync(f, '');
  fs.truncateSync(f, size); // sparse: 96 MiB of zeros
  const want = (() => {
    const h = createHash('sha256');
    const z = Buffer.alloc(1 << 20);
    for (let i = 0; i < 96; i++) h.update(z);
    return h.digest('hex');
  })();
  const seen: number[] = [];
  const before = process.memoryUsage().arrayBuffers;
  t.is(hashFile(f, { memo: null, progressMinBytes: 1 << 20, onProgress: (d, n) => { t.is(n, size); seen.push(d); } }), want);
  t.true(process.memoryUsage().arrayBuffers - before < 48 << 20);
  t.true(seen.length >= 6);
  t.is(seen.at(-1), size);
  t.is(sha256Stream(f), want);
});

test('missing or unreadable files are one-line UserErrors', (t) => {
  const dir = tempDir(t);
  t.throws(() => hashFile(path.join(dir, 'nope.safetensors'), { memo: null }), { instanceOf: UserError, message: /nope\.safetensors: cannot read \(ENOENT\)/ });
  t.throws(() => hashFile(dir, { memo: null }), { instanceOf: UserError, message: /is not a regular file/ });
});

test('memo location: BELLM_WEIGHT_HASH_MEMO, XDG_CACHE_HOME, ~/.cache; off disables it', (t) => {
  t.is(defaultMemoPath({ BELLM_WEIGHT_HASH_MEMO: '/x/m.jsonl' }), '/x/m.jsonl');
  t.is(defaultMemoPath({ BELLM_WEIGHT_HASH_MEMO: 'off' }), null);
  t.is(defaultMemoPath({ XDG_CACHE_HOME: '/c' }), '/c/bellm-bench/weight-hashes.jsonl');
  t.regex(defaultMemoPath({})!, /\.cache\/bellm-bench\/weight-hashes\.jsonl$/);
});

test('model files: config, index and every shard; adapter config and weights; tokenizer files', (t) => {
  t.deepEqual(weightFileNames(fixture('tiny-llama')), ['config.json', 'model.safetensors.index.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
  t.deepEqual(weightFileNames(fixture('tiny-llama-fp16')), ['config.json', 'model.safetensors']);
  const m = hashModelFiles(fixture('tiny-llama'), fixture('tiny-lora-bin'), { memo: null });
  for (const [name, h] of Object.entries(m.weights)) t.is(h, sha(fs.readFileSync(fixture(`tiny-llama/${name}`))), name);
  t.deepEqual(Object.keys(m.adapter!), ['adapter_config.json', 'adapter_model.bin']);
  t.is(m.adapter!['adapter_model.bin'], sha(fs.readFileSync(fixture('tiny-lora-bin/adapter_model.bin'))));
  t.deepEqual(Object.keys(m.tokenizer), ['tokenizer.json', 'tokenizer.model', 'tokenizer_config.json']);
});

// Issue 13 through the real CLI on the tiny fixture: numbers never go stale (weights identity, resume
// identity, merge identity, --no-cache), and hostile or mistaken input ends in one line, exit code 2,
// before the long work starts.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { copyDir, readSafetensorsParts, tempDir, writeSafetensorsParts } from '../helpers/damaged.ts';
import { fixture, goldens, repoRoot, sentevalDir } from '../helpers/shared.ts';

const exec = promisify(execFile);
interface Run { code: number; stdout: string; stderr: string }

/** Runs the CLI with a private weight-hash memo; never throws. */
async function bb(args: string[], env: Record<string, string> = {}): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [path.join(repoRoot, 'bin/bellm-bench.js'), '--quiet', ...args], {
      cwd: repoRoot, maxBuffer: 1 << 26, env: { ...process.env, BELLM_WEIGHT_HASH_MEMO: memoFile, ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const shared = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'bb-rel-'));
test.after.always(() => fs.rmSync(shared, { recursive: true, force: true }));
const memoFile = path.join(shared, 'weight-hashes.jsonl');

/** One line on stderr starting with `bellm-bench:`, exit code 2, no stack trace. */
function oneLine(t: ExecutionContext, r: Run, re: RegExp, what: string): void {
  t.is(r.code, 2, `${what}: exit ${r.code}; stderr: ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, `${what}: ${r.stderr}`);
  t.regex(lines[0], /^bellm-bench: /, what);
  t.regex(lines[0], re, what);
  t.notRegex(r.stderr, /\n\s+at /, what);
}

const readJsonl = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l).embedding as number[]);

/** Flip the sign of every bf16 value of one tensor in place (same shape, same size, same inode). */
function retrainInPlace(file: string, tensor: string): void {
  const { header, data } = readSafetensorsParts(file);
  const [b, e] = (header[tensor] as { data_offsets: [number, number] }).data_offsets;
  const st = fs.statSync(file);
  const hdrLen = fs.readFileSync(file).readBigUInt64LE(0);
  const fd = fs.openSync(file, 'r+');
  const bytes = Buffer.from(data.subarray(b, e));
  for (let i = 1; i < bytes.length; i += 2) bytes[i] ^= 0x80;
  fs.writeSync(fd, bytes, 0, bytes.length, 8 + Number(hdrLen) + b);
  fs.closeSync(fd);
  fs.utimesSync(file, st.atime, st.mtime);
}

test('D1: a retrained same-shape checkpoint at the same path gets its own embeddings from a shared cache', async (t) => {
  const dir = tempDir(t);
  const model = copyDir(fixture('tiny-llama'), path.join(dir, 'model'));
  const input = path.join(dir, 'in.txt');
  fs.writeFileSync(input, `${goldens().sentences.slice(0, 6).join('\n')}\n`);
  const cache = path.join(dir, 'cache');
  const embed = async (out: string, extra: string[]) => {
    const r = await bb(['embed', '--model', model, '--input', input, '--output', path.join(dir, out), '--max-length', '64', ...extra]);
    t.is(r.code, 0, r.stderr);
    return readJsonl(path.join(dir, out));
  };
  const before = await embed('a.jsonl', ['--cache-dir', cache]);
  // retrained: new file, same name, same shapes (the normal research loop)
  const shard = path.join(model, 'model-00001-of-00002.safetensors');
  const { header, data } = readSafetensorsParts(shard);
  const [b, e] = (header['model.layers.0.mlp.down_proj.weight'] as { data_offsets: [number, number] }).data_offsets;
  const next = Buffer.from(data);
  for (let i = b + 1; i < e; i += 2) next[i] ^= 0x80;
  writeSafetensorsParts(`${shard}.new`, header, next);
  fs.renameSync(`${shard}.new`, shard);
  const cached = await embed('b.jsonl', ['--cache-dir', cache]);
  const fresh = await embed('c.jsonl', ['--no-cache']);
  t.deepEqual(cached, fresh);
  t.notDeepEqual(cached, before);
  // edited in place with the mtime set back: still detected (inode, size, mtime equal; ctime differs)
  retrainInPlace(shard, 'model.layers.1.self_attn.q_proj.weight');
  const cached2 = await embed('d.jsonl', ['--cache-dir', cache]);
  const fresh2 = await embed('e.jsonl', ['--no-cache']);
  t.deepEqual(cached2, fresh2);
  t.notDeepEqual(cached2, cached);
});

// `--model org/name --lora org/adapter` through the real CLI, offline from a hub cache built in a temp
// folder from the fixtures (huggingface_hub's layout), against the same commands on the directories;
// and the paper preset end to end on the tiny model (its 4 layers need an explicit k).
import { execFile } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { cacheFromDir, fakeCommit, gitBlobSha1, sha256 } from '../helpers/hub.ts';
import { fixture, goldens, repoRoot, sentevalDir } from '../helpers/shared.ts';
import { cli } from '../helpers/cli.ts';

const tmp = mkdtempSync(join(tmpdir(), 'bb-cli-hub-'));
test.after.always(() => rmSync(tmp, { recursive: true, force: true }));
const cache = join(tmp, 'hub');
const MODEL_COMMIT = fakeCommit('tiny-llama@main');
const LORA_COMMIT = fakeCommit('tiny-lora@main');
cacheFromDir(cache, 'tiny-org/tiny-llama', fixture('tiny-llama'), MODEL_COMMIT);
cacheFromDir(cache, 'tiny-org/tiny-lora', fixture('tiny-lora'), LORA_COMMIT);
const offline = { ...process.env, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '1', HF_HOME: join(tmp, 'home') };

const bb = (args: string[], env: NodeJS.ProcessEnv = offline) => cli(args, { env });

test('embed: org/name ids from the hub cache, offline, give the directories\' embeddings exactly', async (t) => {
  const input = join(tmp, 'in.txt');
  writeFileSync(input, `${goldens().sentences.slice(0, 12).join('\n')}\n`);
  const [a, b] = [join(tmp, 'hub.jsonl'), join(tmp, 'dir.jsonl')];
  const r1 = await bb(['embed', '--model', 'tiny-org/tiny-llama', '--lora', 'tiny-org/tiny-lora@main', '--billm-start-index', '2', '--input', input, '--output', a, '--no-cache']);
  t.is(r1.code, 0, r1.stderr);
  const r2 = await bb(['embed', '--model', fixture('tiny-llama'), '--lora', fixture('tiny-lora'), '--billm-start-index', '2', '--input', input, '--output', b, '--no-cache']);
  t.is(r2.code, 0, r2.stderr);
  t.is(readFileSync(a, 'utf8'), readFileSync(b, 'utf8'));
});

test('sts from the hub cache offline: the directories\' numbers, and the results record id, revision, commit and the Hub\'s file hashes', async (t) => {
  const common = ['sts', '--tasks', 'STS-B', '--data-dir', sentevalDir, '--billm-start-index', '3', '--no-sentence-stats', '--no-cache'];
  const [hubOut, dirOut] = [join(tmp, 'hub.json'), join(tmp, 'dir.json')];
  const r1 = await bb([...common, '--model', `tiny-org/tiny-llama@${MODEL_COMMIT}`, '--lora', 'tiny-org/tiny-lora', '--out', hubOut]);
  t.is(r1.code, 0, r1.stderr);
  const r2 = await bb([...common, '--model', fixture('tiny-llama'), '--lora', fixture('tiny-lora'), '--out', dirOut]);
  t.is(r2.code, 0, r2.stderr);
  const [h, d] = [JSON.parse(readFileSync(hubOut, 'utf8')), JSON.parse(readFileSync(dirOut, 'utf8'))];
  t.deepEqual(h.table, d.table);
  t.deepEqual(h.tasks[0].pairs, d.tasks[0].pairs);
  t.is(h.label, 'tiny-llama+tiny-lora+k3');
  t.deepEqual(h.provenance.hub.model.id, 'tiny-org/tiny-llama');
  t.is(h.provenance.hub.model.revision, MODEL_COMMIT);
  t.is(h.provenance.hub.model.commit, MODEL_COMMIT);
  t.is(h.provenance.hub.adapter.revision, 'main');
  t.is(h.provenance.hub.adapter.commit, LORA_COMMIT);
  t.is(h.provenance.hub.model.files['model-00002-of-00002.safetensors'], sha256(readFileSync(fixture('tiny-llama/model-00002-of-00002.safetensors'))));
  t.is(h.provenance.hub.adapter.files['adapter_config.json'], gitBlobSha1(readFileSync(fixture('tiny-lora/adapter_config.json'))));
  t.is(d.provenance.hub, null);
  t.like(h.bidirectionalCheck, { passed: true, bidirectionalFrom: 3 });
});

test('offline with an id that is not cached: one line naming the cache folder and the fetch command, exit 2', async (t) => {
  const r = await bb(['sts', '--model', 'NousResearch/Llama-2-7b-hf', '--lora', 'SeanLee97/bellm-llama-7b-nli', '--preset', 'bellm-paper', '--data-dir', sentevalDir]);
  t.is(r.code, 2);
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
  t.regex(r.stderr, /^bellm-bench: NousResearch\/Llama-2-7b-hf@main is not in the Hugging Face cache \(.*models--NousResearch--Llama-2-7b-hf: missing refs\/main\) and HF_HUB_OFFLINE is set: .*`hf download NousResearch\/Llama-2-7b-hf --revision main/);
});

test('--preset bellm-paper --compare-paper on the tiny model: compat batches of 16, fp16 weights, the check, and the paper table with notes', async (t) => {
  const out = join(tmp, 'paper.json');
  const r = await bb(['sts', '--model', 'tiny-org/tiny-llama', '--lora', 'tiny-org/tiny-lora', '--preset', 'bellm-paper', '--billm-start-index', '3',
    '--tasks', 'STS-B', '--data-dir', sentevalDir, '--no-sentence-stats', '--cache-dir', join(tmp, 'emb'), '--compare-paper', '--out', out]);
  t.is(r.code, 0, r.stderr);
  const res = JSON.parse(readFileSync(out, 'utf8'));
  t.like(res.settings, { preset: 'bellm-paper', mask: 'billm', batchSize: 16, dtype: 'fp16', computeDtype: 'fp32', billmStartIndex: 3, maxLength: 512, pooling: 'last' });
  t.regex(r.stdout, /\| BeLLM \(paper\) \| 78\.36 \| 90\.88 /);
  t.regex(r.stdout, /Δ \(run − paper\)/);
  t.regex(r.stdout, /note: the published run uses NousResearch\/Llama-2-7b-hf; this run's model is tiny-org\/tiny-llama/);
  t.regex(r.stdout, /note: the published run makes layers >= 31 bidirectional; this run 3/);
  t.regex(r.stdout, /note: the published run computed in fp16 on a GPU; this run's activations are fp32 \(CPU\)/);
});

test('an experiment grid over Hub ids and --dtype: cells resolve from the hub cache, are reused while their identity holds, and rerun when the id\'s main moves to other bytes', async (t) => {
  // its own hub cache: this test moves refs/main of the adapter
  const hub = join(tmp, 'grid-hub');
  cacheFromDir(hub, 'tiny-org/tiny-llama', fixture('tiny-llama'), MODEL_COMMIT);
  cacheFromDir(hub, 'tiny-org/tiny-lora', fixture('tiny-lora'), LORA_COMMIT);
  const env = { ...offline, HF_HUB_CACHE: hub };
  const file = join(tmp, 'hub-grid.yaml');
  writeFileSync(file, `name: hub-grid\ndata_dir: ${sentevalDir}\ntasks: [STSBenchmark]\ndevice: cpu\nsentence_stats: false\nreport: {bootstrap: 50}\n` +
    'runs:\n  - model: tiny-org/tiny-llama\n    lora: [null, tiny-org/tiny-lora]\n    dtype: [null, fp32]\n');
  const out = join(tmp, 'hub-grid');
  const r1 = await bb(['run', file, '--out', out], env);
  t.is(r1.code, 0, r1.stderr);
  const manifest = JSON.parse(readFileSync(join(out, 'experiment.json'), 'utf8')) as { cells: { id: string; label: string }[] };
  const results = (label: string) => JSON.parse(readFileSync(join(out, 'cells', manifest.cells.find((c) => c.label === label)!.id, 'results.json'), 'utf8'));
  t.deepEqual(manifest.cells.map((c) => c.label), ['lora=none, dtype=none', 'lora=none, dtype=fp32', 'lora=tiny-lora, dtype=none', 'lora=tiny-lora, dtype=fp32']);
  const auto = results('lora=tiny-lora, dtype=none'), fp32 = results('lora=tiny-lora, dtype=fp32');
  t.is(auto.provenance.hub.adapter.commit, LORA_COMMIT);
  t.is(auto.settings.dtype, 'bf16'); // the bf16 checkpoint held as stored on the CPU
  t.is(fp32.settings.dtype, 'fp32');
  t.deepEqual(auto.table, fp32.table); // lossless storage: the same numbers
  // nothing changed: every cell is reused (without --quiet, to read the summary line)
  const again = await promisify(execFile)(process.execPath, [join(repoRoot, 'bin/bellm-bench.js'), 'run', file, '--out', out], { cwd: repoRoot, env });
  t.regex(again.stderr, /^0 jobs run, 4 already done, 0 failed$/m);
  // main of the adapter moves to a commit with other bytes: only the adapter cells rerun
  const changed = join(tmp, 'lora-v2');
  cpSync(fixture('tiny-lora'), changed, { recursive: true });
  for (const f of readdirSync(changed)) chmodSync(join(changed, f), 0o644);
  const w = readFileSync(join(changed, 'adapter_model.safetensors'));
  w[w.length - 4] ^= 1;
  writeFileSync(join(changed, 'adapter_model.safetensors'), w);
  cacheFromDir(hub, 'tiny-org/tiny-lora', changed, fakeCommit('tiny-lora@v2'));
  const r3 = await promisify(execFile)(process.execPath, [join(repoRoot, 'bin/bellm-bench.js'), 'run', file, '--out', out], { cwd: repoRoot, env });
  t.regex(r3.stderr, /"lora=tiny-lora, dtype=none": its results are stale: the LoRA adapter differ; running it again/);
  t.regex(r3.stderr, /^2 jobs run, 2 already done, 0 failed$/m);
  t.is(results('lora=tiny-lora, dtype=none').provenance.hub.adapter.commit, fakeCommit('tiny-lora@v2'));
});

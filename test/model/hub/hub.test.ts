// Hugging Face ids: resolution from a hub cache in huggingface_hub's layout, download into that layout
// from a Hub stand-in on 127.0.0.1 (test/helpers/hub.ts), resume, and every one-line error.
import { existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { getHFHubCachePath } from '@huggingface/hub';
import { CpuBackend } from '../../../src/backend/cpu/backend.ts';
import { UserError } from '../../../src/errors.ts';
import { packBatch } from '../../../src/model/arch/batch.ts';
import { Decoder } from '../../../src/model/arch/decoder.ts';
import { hubCacheDir } from '../../../src/model/hub/cache.ts';
import { parseHubSpec } from '../../../src/model/hub/ids.ts';
import { resolveSource, type ResolveOptions } from '../../../src/model/hub/resolve.ts';
import { loadModel } from '../../../src/model/formats/load.ts';
import { fixture, goldens } from '../../helpers/shared.ts';
import { cacheFromDir, fakeCommit, filesOf, gitBlobSha1, sha256, startFakeHub, type FakeHub, type FakeRepo } from '../../helpers/hub.ts';

const TOKEN = 'hf_valid_test_token';
const tmpRoot = mkdtempSync(join(tmpdir(), 'bellm-hub-'));
test.after.always(() => rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const freshCache = (): string => join(tmpRoot, `cache-${n++}`);

const LLAMA = 'tiny/llama';
const LORA = 'tiny/lora';
const llamaFiles: Record<string, Buffer> = { ...filesOf(fixture('tiny-llama')), 'pytorch_model.bin': Buffer.from('a decoy: never downloaded when safetensors exist') };
const repos: FakeRepo[] = [
  { id: LLAMA, commit: fakeCommit('llama'), files: llamaFiles, refs: { 'v1.0': fakeCommit('llama') } },
  { id: LORA, commit: fakeCommit('lora'), files: filesOf(fixture('tiny-lora')) },
  { id: 'tiny/gated', commit: fakeCommit('gated'), files: filesOf(fixture('tiny-lora')), gated: true },
  { id: 'tiny/bin-only', commit: fakeCommit('bin'), files: { 'config.json': llamaFiles['config.json'], 'pytorch_model.bin': Buffer.from('weights') } },
];

const env = (hub: FakeHub | null, cache: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
  ({ HF_HUB_CACHE: cache, HF_HOME: join(tmpRoot, 'no-home'), ...(hub ? { HF_ENDPOINT: hub.endpoint } : {}), ...extra });
const opts = (e: NodeJS.ProcessEnv, kind: 'model' | 'adapter' = 'model', more: Partial<ResolveOptions> = {}): ResolveOptions =>
  ({ kind, flag: kind === 'model' ? '--model' : '--lora', env: e, ...more });

async function withHub(fn: (hub: FakeHub) => Promise<void>): Promise<void> {
  const hub = await startFakeHub(repos, TOKEN);
  try {
    await fn(hub);
  } finally {
    await hub.close();
  }
}

/** A port with nothing listening. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', () => ok()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

test('cache folder: the same precedence as @huggingface/hub (and huggingface_hub): HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME', (t) => {
  const saved = { ...process.env };
  try {
    for (const set of [
      {}, { XDG_CACHE_HOME: '/x' }, { HF_HOME: '/h', XDG_CACHE_HOME: '/x' }, { HUGGINGFACE_HUB_CACHE: '/old', HF_HOME: '/h' },
      { HF_HUB_CACHE: '/c', HUGGINGFACE_HUB_CACHE: '/old', HF_HOME: '/h' },
    ] as Record<string, string>[]) {
      for (const k of ['HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HOME', 'XDG_CACHE_HOME']) delete process.env[k];
      Object.assign(process.env, set);
      t.is(hubCacheDir(process.env), getHFHubCachePath(), JSON.stringify(set));
    }
  } finally {
    for (const k of ['HF_HUB_CACHE', 'HUGGINGFACE_HUB_CACHE', 'HF_HOME', 'XDG_CACHE_HOME']) delete process.env[k];
    Object.assign(process.env, saved);
  }
});

test('ids: org/name, @revision, --revision, and what is refused', (t) => {
  t.deepEqual(parseHubSpec('NousResearch/Llama-2-7b-hf', undefined, '--model'), { id: 'NousResearch/Llama-2-7b-hf', revision: 'main' });
  t.deepEqual(parseHubSpec('a/b@v1.0', undefined, '--model'), { id: 'a/b', revision: 'v1.0' });
  t.deepEqual(parseHubSpec('a/b', 'dev', '--model'), { id: 'a/b', revision: 'dev' });
  t.throws(() => parseHubSpec('a/b@x', 'y', '--model'), { instanceOf: UserError, message: /names revision x but --revision says y/ });
  t.throws(() => parseHubSpec('a/b@', undefined, '--lora'), { message: /empty revision/ });
  t.throws(() => parseHubSpec('a--b/c', undefined, '--model'), { message: /not a Hugging Face id/ });
});

test('a hub cache built from the fixtures (blobs/, snapshot symlinks, refs/main) resolves offline to the same weights and embeddings as the directories', async (t) => {
  const cache = freshCache();
  const commit = fakeCommit('cached');
  cacheFromDir(cache, LLAMA, fixture('tiny-llama'), commit);
  cacheFromDir(cache, LORA, fixture('tiny-lora'), fakeCommit('cached-lora'));
  const e = env(null, cache, { HF_HUB_OFFLINE: '1' });
  const m = await resolveSource(LLAMA, opts(e));
  const a = await resolveSource(`${LORA}@main`, opts(e, 'adapter'));
  t.is(m.dir, join(cache, 'models--tiny--llama', 'snapshots', commit));
  t.is(m.hub?.commit, commit);
  t.is(m.hub?.revision, 'main');
  const st = readFileSync(fixture('tiny-llama/model-00001-of-00002.safetensors'));
  t.is(m.hub?.files['model-00001-of-00002.safetensors'], sha256(st), 'LFS files are recorded by their sha256');
  t.is(m.hub?.files['config.json'], gitBlobSha1(readFileSync(fixture('tiny-llama/config.json'))), 'small files by their git blob sha1');
  t.false('generation_config.json' in m.hub!.files, 'only the files the run reads are recorded');
  // the same embeddings, bit for bit, as the fixture directories
  const fromCache = loadModel(m.dir, { lora: a.dir });
  const fromDir = loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora') });
  t.is(fromCache.fingerprint, fromDir.fingerprint);
  t.is(fromCache.lora?.sha256, fromDir.lora?.sha256);
  const batch = packBatch(goldens().inputIds.slice(0, 8));
  const x = new Decoder(new CpuBackend(), fromCache.config, fromCache.weights).forward(batch, { billmStartIndex: 2, poolings: ['last'] }).last!;
  const y = new Decoder(new CpuBackend(), fromDir.config, fromDir.weights).forward(batch, { billmStartIndex: 2, poolings: ['last'] }).last!;
  t.deepEqual(x, y);
  // a commit hash as the revision needs no ref
  t.is((await resolveSource(`${LLAMA}@${commit}`, opts(e))).dir, m.dir);
});

test('download: only the needed files, into huggingface_hub\'s layout (blobs by Hub hash, relative links, refs/main); then offline and without requests', async (t) => {
  await withHub(async (hub) => {
    const cache = freshCache();
    const e = env(hub, cache, { HF_TOKEN: TOKEN });
    const progress: string[] = [];
    const m = await resolveSource(LLAMA, opts(e, 'model', { progress: (f) => ({ update() {}, stop() { progress.push(f); } }) }));
    const repo = repos[0];
    const storage = join(cache, 'models--tiny--llama');
    t.is(readFileSync(join(storage, 'refs', 'main'), 'utf8'), repo.commit);
    t.is(m.dir, join(storage, 'snapshots', repo.commit));
    const got = readdirSync(m.dir).sort();
    t.deepEqual(got, ['config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json',
      'tokenizer.json', 'tokenizer.model', 'tokenizer_config.json']);
    for (const f of got) {
      const link = join(m.dir, f);
      t.true(lstatSync(link).isSymbolicLink(), `${f} is a symlink`);
      t.is(readlinkSync(link), join('..', '..', 'blobs', f.endsWith('.safetensors') || f.endsWith('.model') ? sha256(repo.files[f]) : gitBlobSha1(repo.files[f])), `${f} links into blobs/ by its Hub hash`);
      t.true(readFileSync(link).equals(repo.files[f]), `${f} content`);
    }
    t.false(existsSync(join(m.dir, 'pytorch_model.bin')));
    t.false(existsSync(join(m.dir, 'generation_config.json')));
    t.deepEqual(readdirSync(join(storage, 'blobs')).filter((b) => b.endsWith('.incomplete')), []);
    t.true(hub.log.filter((r) => r.server === 'cdn').every((r) => r.auth === null), 'the token never goes to the CDN');
    t.true(hub.log.filter((r) => r.server === 'hub').every((r) => r.auth === `Bearer ${TOKEN}`), 'the token goes to the Hub');
    t.true(progress.includes('model-00001-of-00002.safetensors'), 'a progress bar per file');
    // the same again: from the cache, no request
    const before = hub.log.length;
    t.is((await resolveSource(LLAMA, opts(e))).dir, m.dir);
    t.is(hub.log.length, before);
    t.is((await resolveSource(LLAMA, opts(env(hub, cache, { HF_HUB_OFFLINE: '1' })))).hub?.commit, repo.commit);
    // a tag gets its own ref; the adapter downloads beside it
    await resolveSource(`${LLAMA}@v1.0`, opts(e));
    t.is(readFileSync(join(storage, 'refs', 'v1.0'), 'utf8'), repo.commit);
    const a = await resolveSource(LORA, opts(e, 'adapter'));
    t.deepEqual(readdirSync(a.dir).sort(), ['adapter_config.json', 'adapter_model.safetensors']);
    t.deepEqual(loadModel(m.dir, { lora: a.dir }).lora?.sha256, loadModel(fixture('tiny-llama'), { lora: fixture('tiny-lora') }).lora?.sha256);
  });
});

test('resume: an interrupted transfer keeps its .incomplete file, the next run asks only for the rest (Range), and the blob checks out', async (t) => {
  await withHub(async (hub) => {
    const cache = freshCache();
    const e = env(hub, cache);
    const shard = repos[0].files['model-00001-of-00002.safetensors'];
    const etag = sha256(shard);
    // every transfer of that blob breaks after 64 KiB: five attempts, then a one-line error
    hub.cut = (h) => (h === etag ? 65536 : null);
    const err = await t.throwsAsync(resolveSource(LLAMA, opts(e)), { instanceOf: UserError });
    t.regex(err!.message, /download of tiny\/llama\/model-00001-of-00002\.safetensors was interrupted after 327680 of \d+ bytes .*run the command again to resume/);
    const part = join(cache, 'models--tiny--llama', 'blobs', `${etag}.incomplete`);
    t.is(statSync(part).size, 5 * 65536);
    t.false(existsSync(join(cache, 'models--tiny--llama', 'refs', 'main')), 'no ref to an incomplete snapshot');
    // the network is back
    hub.cut = null;
    const from = hub.log.length;
    const m = await resolveSource(LLAMA, opts(e));
    const gets = hub.log.slice(from).filter((r) => r.server === 'cdn' && r.path === `/lfs/${etag}`);
    t.deepEqual(gets.map((r) => r.range), ['bytes=327680-']);
    t.true(readFileSync(join(m.dir, 'model-00001-of-00002.safetensors')).equals(shard));
    t.false(existsSync(part));
    // a single break within a run is retried from where it stopped
    const cache2 = freshCache();
    let broken = false;
    hub.cut = (h) => (h === etag && !broken ? ((broken = true), 100000) : null);
    const before = hub.log.length;
    const m2 = await resolveSource(LLAMA, opts(env(hub, cache2)));
    t.true(readFileSync(join(m2.dir, 'model-00001-of-00002.safetensors')).equals(shard));
    t.true(hub.log.slice(before).some((r) => r.server === 'cdn' && r.range === 'bytes=100000-'));
  });
});

test('a download that does not match the Hub\'s hash is refused and not kept', async (t) => {
  await withHub(async (hub) => {
    const cache = freshCache();
    const etag = sha256(repos[1].files['adapter_model.safetensors']);
    hub.corrupt.add(etag);
    await t.throwsAsync(resolveSource(LORA, opts(env(hub, cache), 'adapter')), { instanceOf: UserError, message: /does not match the Hub's hash [0-9a-f]{64} .*run the command again/ });
    t.false(existsSync(join(cache, 'models--tiny--lora', 'blobs', etag)));
    t.false(existsSync(join(cache, 'models--tiny--lora', 'blobs', `${etag}.incomplete`)));
  });
});

test('errors, one line each: gated without a token (licence + HF_TOKEN), a token without access, an unknown repo or revision, a bad token', async (t) => {
  await withHub(async (hub) => {
    const c = freshCache();
    const gated = await t.throwsAsync(resolveSource('tiny/gated', opts(env(hub, c), 'adapter')), { instanceOf: UserError });
    t.regex(gated!.message, /^tiny\/gated is a gated repository: accept its licence at http:\/\/127\.0\.0\.1:\d+\/tiny\/gated .*set HF_TOKEN/);
    t.notRegex(gated!.message, /\n/);
    const denied = await t.throwsAsync(resolveSource('tiny/gated', opts(env(hub, c, { HF_TOKEN: 'hf_noaccess_1' }), 'adapter')), { instanceOf: UserError });
    t.regex(denied!.message, /gated repository and the token from HF_TOKEN has no access \(HTTP 403\)/);
    t.truthy(await resolveSource('tiny/gated', opts(env(hub, c, { HF_TOKEN: TOKEN }), 'adapter')));
    await t.throwsAsync(resolveSource('tiny/nothing', opts(env(hub, c))), { message: /^tiny\/nothing: no such model repository on http:\/\/127\.0\.0\.1:\d+ \(or it is private or gated: set HF_TOKEN\); check the id$/ });
    await t.throwsAsync(resolveSource('tiny/llama@nope', opts(env(hub, c))), { message: /^tiny\/llama has no revision "nope" \(branch, tag or commit\)/ });
    await t.throwsAsync(resolveSource('tiny/llama', opts(env(hub, c, { HF_TOKEN: 'hf_wrong' }))), { message: /token from HF_TOKEN is invalid \(HTTP 401\)/ });
    const bin = await t.throwsAsync(resolveSource('tiny/bin-only', opts(env(hub, c))), { instanceOf: UserError });
    t.regex(bin!.message, /has only PyTorch \.bin weights .* converting them is your step/);
    t.false(hub.log.some((r) => r.path.includes('/bin-only/resolve/')), 'nothing downloaded from a .bin-only repo');
  });
});

test('offline with the files not cached names the cache folder and the command that fetches them; an unreachable Hub says so too', async (t) => {
  const c = freshCache();
  const off = await t.throwsAsync(resolveSource('NousResearch/Llama-2-7b-hf', opts(env(null, c, { HF_HUB_OFFLINE: '1' }))), { instanceOf: UserError });
  t.is(off!.message, `NousResearch/Llama-2-7b-hf@main is not in the Hugging Face cache (${join(c, 'models--NousResearch--Llama-2-7b-hf')}: missing refs/main) and HF_HUB_OFFLINE is set: ` +
    'unset it to let bellm-bench download the files, or fetch them with `hf download NousResearch/Llama-2-7b-hf --revision main --include "*.json" "*.safetensors" "tokenizer.model"`');
  // a partial snapshot: what is missing is named
  const partial = freshCache();
  const snap = cacheFromDir(partial, LLAMA, fixture('tiny-llama'), fakeCommit('partial'));
  rmSync(join(snap, 'model-00002-of-00002.safetensors'));
  await t.throwsAsync(resolveSource(LLAMA, opts(env(null, partial, { HF_HUB_OFFLINE: 'true' }))), { message: /missing model-00002-of-00002\.safetensors\) and HF_HUB_OFFLINE is set/ });
  const port = await closedPort();
  const down = await t.throwsAsync(resolveSource(LLAMA, opts({ ...env(null, c), HF_ENDPOINT: `http://127.0.0.1:${port}` })), { instanceOf: UserError });
  t.regex(down!.message, /^cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) and tiny\/llama@main is not in the Hugging Face cache .*hf download tiny\/llama/);
  // a directory stays a directory; a missing one that is no id says so
  t.is((await resolveSource(fixture('tiny-llama'), opts(env(null, c)))).hub, null);
  await t.throwsAsync(resolveSource(join(tmpRoot, 'no/such/dir'), opts(env(null, c))), { message: /no such directory, and not a Hugging Face id/ });
  await t.throwsAsync(resolveSource(fixture('tiny-llama'), opts(env(null, c), 'model', { revision: 'main' })), { message: /--revision applies to Hugging Face ids only/ });
  t.truthy(realpathSync(tmpRoot));
});

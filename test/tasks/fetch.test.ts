// `data fetch` without a network: archives made by GNU tar and Info-ZIP from the reference folder,
// served by an injected fetch; every written file is checked against the reference bytes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { UserError } from '../../src/errors.ts';
import { extractWanted, matchEntry } from '../../src/tasks/archive.ts';
import { loadChecksums, verifyDir } from '../../src/tasks/checksums.ts';
import { fetchData } from '../../src/tasks/fetch.ts';
import { loadTask } from '../../src/tasks/load.ts';
import { sentevalDir } from '../helpers/shared.ts';

const work = mkdtempSync(join(tmpdir(), 'bellm-fetch-'));
test.after.always(() => rmSync(work, { recursive: true, force: true }));
// A deep parent folder so member names exceed tar's 100-byte name field.
const deep = join(work, 'src', 'x'.repeat(60), 'y'.repeat(60));
mkdirSync(deep, { recursive: true });
symlinkSync(sentevalDir, join(deep, 'senteval'));
const rel = join('x'.repeat(60), 'y'.repeat(60), 'senteval');
const archive = (name: string, args: string[]): string => {
  const out = join(work, name);
  execFileSync('tar', ['-h', '-C', join(work, 'src'), ...args, out, rel]);
  return out;
};
const files = Object.keys(loadChecksums().files);
const fromFile = (p: string) => (async function* () { yield new Uint8Array(readFileSync(p)); })();
const serve = (p: string): typeof fetch => async () => new Response(readFileSync(p), { headers: { 'content-length': String(readFileSync(p).length) } });
const sameAsReference = (dir: string) => files.every((f) => readFileSync(join(dir, f)).equals(readFileSync(join(sentevalDir, f))));

for (const format of ['gnu', 'pax', 'ustar'] as const) {
  test(`tar --format=${format}: every wanted file extracted byte for byte`, async (t) => {
    const out = await extractWanted(fromFile(archive(`${format}.tar`, [`--format=${format}`, '-cf'])), files);
    t.is(out.size, files.length);
    for (const f of files) t.true(Buffer.from(out.get(f)!).equals(readFileSync(join(sentevalDir, f))), f);
  });
}

test('entries match by path suffix only', (t) => {
  t.is(matchEntry('./senteval/SICK/SICK_train.txt', files), 'SICK/SICK_train.txt');
  t.is(matchEntry('SICK/SICK_train.txt', files), 'SICK/SICK_train.txt');
  t.is(matchEntry('x/MYSICK/SICK_train.txt', files), null);
  t.is(matchEntry('STS/STSBenchmark/stsbenchmark/sts-test.csv', files), null); // the untokenized originals
});

test('fetch a tar.gz through an injected fetch, with progress, into an empty folder', async (t) => {
  const tgz = archive('data.tar.gz', ['-czf']);
  const dataDir = join(work, 'fetched');
  const seen: [number, number | null][] = [];
  const r = await fetchData({ dataDir, url: 'https://example.invalid/senteval.tar.gz', fetchImpl: serve(tgz), onProgress: (b, total) => seen.push([b, total]) });
  t.is(r.written.length, 54);
  t.true(sameAsReference(dataDir));
  t.deepEqual(verifyDir(dataDir).ok.length, 54);
  t.deepEqual(seen[seen.length - 1], [readFileSync(tgz).length, readFileSync(tgz).length]);
  t.is(loadTask('STS16', dataDir).subsets.reduce((a, s) => a + s.pairs.length, 0), 1186);
  const again = await fetchData({ dataDir, fetchImpl: () => Promise.reject(new Error('must not download')) });
  t.is(again.written.length, 0);
});

test('a zip made by Info-ZIP works through --archive', async (t) => {
  const zip = join(work, 'data.zip');
  execFileSync('zip', ['-q', '-r', zip, rel], { cwd: join(work, 'src') });
  const dataDir = join(work, 'from-zip');
  const r = await fetchData({ dataDir, archive: zip });
  t.is(r.written.length, 54);
  t.true(sameAsReference(dataDir));
});

test('offline: a rejected fetch is a one-line UserError that names the way out', async (t) => {
  const offline: typeof fetch = () => Promise.reject(new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND huggingface.co'), { code: 'ENOTFOUND' }) }));
  const dataDir = join(work, 'offline');
  const err = await t.throwsAsync(fetchData({ dataDir, fetchImpl: offline }), { instanceOf: UserError });
  t.regex(err!.message, /^data fetch: cannot download https:\/\/huggingface\.co\/\S+senteval\.tar \(ENOTFOUND\); offline\?.*--archive <file>/);
  t.notRegex(err!.message, /\n/);
  t.false(existsSync(dataDir));
});

test('HTTP errors, truncated or foreign archives fail without writing', async (t) => {
  const dataDir = join(work, 'bad');
  await t.throwsAsync(fetchData({ dataDir, fetchImpl: async () => new Response('no', { status: 404 }) }), { instanceOf: UserError, message: /answered HTTP 404/ });
  const tgz = readFileSync(archive('trunc.tar.gz', ['-czf']));
  const cut = join(work, 'cut.tar.gz');
  writeFileSync(cut, tgz.subarray(0, tgz.length >> 1));
  await t.throwsAsync(fetchData({ dataDir, archive: cut }), { instanceOf: UserError, message: /cannot read .*cut\.tar\.gz/ });
  const other = join(work, 'other.tar');
  execFileSync('tar', ['-C', sentevalDir, '-cf', other, 'SICK']);
  await t.throwsAsync(fetchData({ dataDir, archive: other }), { instanceOf: UserError, message: /lacks 51 of the 54 needed files/ });
  // a plain tar cut in the middle of a file's data, and one whose second header is garbage (tar-stream's errors)
  const tar = readFileSync(archive('trunc.tar', ['-cf']));
  const cutTar = join(work, 'cut.tar');
  writeFileSync(cutTar, tar.subarray(0, Math.floor(tar.length * 0.6)));
  await t.throwsAsync(fetchData({ dataDir, archive: cutTar }), { instanceOf: UserError, message: /^data fetch: cannot read .*cut\.tar: Unexpected end of data$/ });
  const garbled = Buffer.from(tar);
  const firstSize = parseInt(garbled.subarray(124, 135).toString('latin1'), 8); // the first entry's size field (octal)
  const second = 512 + Math.ceil(firstSize / 512) * 512;
  garbled.fill(0x41, second, second + 512);
  const garbledTar = join(work, 'garbled.tar');
  writeFileSync(garbledTar, garbled);
  await t.throwsAsync(fetchData({ dataDir, archive: garbledTar }), { instanceOf: UserError, message: /^data fetch: cannot read .*garbled\.tar: Invalid tar header/ });
  const plain = join(work, 'plain.txt');
  writeFileSync(plain, 'hello');
  await t.throwsAsync(fetchData({ dataDir, archive: plain }), { instanceOf: UserError, message: /not a tar, tar.gz or zip archive/ });
  t.false(existsSync(dataDir));
});

test('a file that differs from its checksum: in the archive nothing is written; on disk --force is needed', async (t) => {
  const bad = join(work, 'tampered');
  for (const f of files) {
    mkdirSync(join(bad, 'senteval', f, '..'), { recursive: true });
    writeFileSync(join(bad, 'senteval', f), readFileSync(join(sentevalDir, f)));
  }
  writeFileSync(join(bad, 'senteval', 'SICK/SICK_trial.txt'), 'changed');
  const tar = join(work, 'tampered.tar');
  execFileSync('tar', ['-C', bad, '-cf', tar, 'senteval']);
  const dataDir = join(work, 'tampered-out');
  await t.throwsAsync(fetchData({ dataDir, archive: tar }), { instanceOf: UserError, message: /1 file\(s\) in .* differ from data\/checksums\.json \(first: SICK\/SICK_trial\.txt\); nothing was written/ });
  t.false(existsSync(dataDir));

  const good = archive('good.tar', ['-cf']);
  await fetchData({ dataDir, archive: good });
  writeFileSync(join(dataDir, 'STS/STS13-en-test/STS.gs.FNWN.txt'), 'changed');
  t.deepEqual(verifyDir(dataDir).mismatched, ['STS/STS13-en-test/STS.gs.FNWN.txt']);
  await t.throwsAsync(fetchData({ dataDir, archive: good }), { instanceOf: UserError, message: /pass --force/ });
  const r = await fetchData({ dataDir, archive: good, force: true });
  t.is(r.written.length, 54);
  t.true(sameAsReference(dataDir));
  t.false(readdirSync(join(dataDir, 'SICK')).some((f) => f.endsWith('.part')));
});

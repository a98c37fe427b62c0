// `data fetch`: download the SentEval archive (or read a local one), keep the files the loaders read,
// check each against data/checksums.json before writing anything, write, then verify the folder.
import { createReadStream, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.ts';
import { extractWanted } from './archive.ts';
import { loadChecksums, sha256, verifyDir, type DataChecksums } from './checksums.ts';

export interface FetchOptions {
  dataDir: string;
  force?: boolean;
  url?: string;                      // default: checksums.json's source.url
  archive?: string;                  // a local archive instead of downloading
  fetchImpl?: typeof fetch;          // injectable for tests
  /** Called with (bytesSoFar, totalOrNull) while downloading. */
  onProgress?: (bytes: number, total: number | null) => void;
  log?: (line: string) => void;
  checksums?: DataChecksums;
}

export interface FetchReport {
  written: string[];
  skipped: string[];                 // already present and verified
  source: string;
}

export async function fetchData(opts: FetchOptions): Promise<FetchReport> {
  const sums = opts.checksums ?? loadChecksums();
  const log = opts.log ?? (() => {});
  const before = verifyDir(opts.dataDir, sums.files);
  if (!opts.force) {
    if (before.mismatched.length) {
      throw new UserError(`data fetch: ${before.mismatched.length} file(s) in ${opts.dataDir} differ from data/checksums.json (first: ${before.mismatched[0]}); pass --force to overwrite them`);
    }
    if (before.missing.length === 0) {
      log(`all ${before.ok.length} task files in ${opts.dataDir} are present and verified; nothing to do (--force re-downloads)`);
      return { written: [], skipped: before.ok, source: '' };
    }
  }
  const wanted = opts.force ? Object.keys(sums.files) : before.missing;
  const source = opts.archive ?? opts.url ?? sums.source.url;
  const chunks = opts.archive ? localChunks(opts.archive) : await download(source, opts);
  let files: Map<string, Uint8Array>;
  try {
    files = await extractWanted(chunks, wanted);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`data fetch: cannot read ${source}: ${(err as Error).message}`);
  }
  const absent = wanted.filter((w) => !files.has(w));
  if (absent.length) throw new UserError(`data fetch: ${source} lacks ${absent.length} of the ${wanted.length} needed files (first: ${absent[0]}); is it SentEval's data folder?`);
  const bad = wanted.filter((w) => sha256(files.get(w)!) !== sums.files[w]);
  if (bad.length) throw new UserError(`data fetch: ${bad.length} file(s) in ${source} differ from data/checksums.json (first: ${bad[0]}); nothing was written`);
  for (const rel of wanted) {
    const p = join(opts.dataDir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(`${p}.part`, files.get(rel)!);
    renameSync(`${p}.part`, p);
  }
  const after = verifyDir(opts.dataDir, sums.files);
  if (after.missing.length || after.mismatched.length) {
    throw new UserError(`data fetch: after writing, ${after.missing.length + after.mismatched.length} file(s) in ${opts.dataDir} still fail verification; run \`bellm-bench data verify\``);
  }
  log(`wrote ${wanted.length} task files to ${opts.dataDir} (all ${after.ok.length} verified)`);
  return { written: wanted, skipped: before.ok.filter((f) => !wanted.includes(f)), source };
}

async function* localChunks(path: string): AsyncGenerator<Uint8Array> {
  if (!existsSync(path)) throw new UserError(`data fetch: archive ${path} does not exist`);
  for await (const c of createReadStream(path)) yield c as Buffer;
}

async function download(url: string, opts: FetchOptions): Promise<AsyncIterable<Uint8Array>> {
  const doFetch = opts.fetchImpl ?? fetch;
  let res: Response;
  try {
    res = await doFetch(url);
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new UserError(`data fetch: cannot download ${url} (${why}); offline? fetch the archive elsewhere and pass --archive <file>, or copy a SentEval data folder and pass --data-dir`);
  }
  if (!res.ok || !res.body) throw new UserError(`data fetch: ${url} answered HTTP ${res.status}; pass --url <mirror> or --archive <file>`);
  const total = Number(res.headers.get('content-length')) || null;
  const body = res.body;
  return (async function* () {
    let bytes = 0;
    try {
      for await (const c of body as AsyncIterable<Uint8Array>) {
        bytes += c.length;
        opts.onProgress?.(bytes, total);
        yield c;
      }
    } catch (err) {
      throw new UserError(`data fetch: download of ${url} broke off after ${bytes} bytes (${(err as Error).message}); run it again`);
    }
  })();
}

// Unpack the task files from a downloaded archive (tar, tar.gz or zip, told apart by their first
// bytes), keeping only the entries that map to a wanted path. Entries are matched by path suffix, so
// `senteval/STS/STS12-en-test/...` or `downstream/SICK/...` both land in SentEval's layout.
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { unzipSync } from 'fflate';
import { extract as tarExtract } from 'tar-stream';

export type ArchiveFormat = 'tar' | 'tar.gz' | 'zip';

export function sniffFormat(head: Uint8Array): ArchiveFormat | null {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'tar.gz';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head.length >= 263 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar') return 'tar';
  return null;
}

/** The wanted path an archive entry stands for: the entry itself or a suffix after a '/'. */
export function matchEntry(entry: string, wanted: readonly string[]): string | null {
  const p = entry.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
  return wanted.find((w) => p === w || p.endsWith(`/${w}`)) ?? null;
}

/** Read an archive stream; returns wanted path -> bytes (the first entry for each path wins). */
export async function extractWanted(chunks: AsyncIterable<Uint8Array>, wanted: readonly string[]): Promise<Map<string, Uint8Array>> {
  const it = chunks[Symbol.asyncIterator]();
  // Gather enough bytes to recognise the format, then replay them in front of the rest.
  const head: Uint8Array[] = [];
  let headLen = 0;
  while (headLen < 512) {
    const r = await it.next();
    if (r.done) break;
    head.push(r.value);
    headLen += r.value.length;
  }
  const first = concat(head);
  const format = sniffFormat(first);
  if (!format) throw new Error('not a tar, tar.gz or zip archive');
  async function* replay(): AsyncGenerator<Uint8Array> {
    yield first;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  const out = new Map<string, Uint8Array>();
  const keep = (entry: string, data: Uint8Array) => {
    const w = matchEntry(entry, wanted);
    if (w && !out.has(w)) out.set(w, data);
  };
  if (format === 'zip') {
    const all: Uint8Array[] = [];
    for await (const c of replay()) all.push(c);
    const files = unzipSync(concat(all), { filter: (f) => matchEntry(f.name, wanted) !== null });
    for (const [name, data] of Object.entries(files)) keep(name, data);
    return out;
  }
  let stream: AsyncIterable<Uint8Array> = replay();
  if (format === 'tar.gz') {
    const gunzip = createGunzip();
    pipeline(Readable.from(stream), gunzip, () => {}); // errors reach the loop below through gunzip
    stream = gunzip;
  }
  for await (const f of readTar(stream, (p) => matchEntry(p, wanted) !== null)) keep(f.path, f.data);
  return out;
}

/**
 * The regular files of a tar stream (ustar, GNU long names, pax records: tar-stream parses them) whose
 * path `want` accepts, read into memory one at a time; every other entry is drained unread. A
 * truncated or corrupt archive rejects with tar-stream's error.
 */
export async function* readTar(chunks: AsyncIterable<Uint8Array>, want: (path: string) => boolean): AsyncGenerator<{ path: string; data: Uint8Array }> {
  const ex = tarExtract();
  const src = Readable.from(chunks);
  src.on('error', (e) => ex.destroy(e));
  src.pipe(ex);
  for await (const entry of ex) {
    const { name, type } = entry.header;
    if ((type === 'file' || type === 'contiguous-file') && want(name)) {
      const parts: Buffer[] = [];
      for await (const c of entry) parts.push(c as Buffer);
      yield { path: name, data: new Uint8Array(Buffer.concat(parts)) };
    } else {
      entry.resume();
    }
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

// A streaming reader for POSIX tar (ustar, with GNU long names and pax path records): yields the
// regular files whose path `want` accepts, holding only those in memory. Enough for data archives.

const BLOCK = 512;

export interface TarFile {
  path: string;
  data: Uint8Array;
}

/** A NUL-terminated header string. */
function text(b: Uint8Array): string {
  const end = b.indexOf(0);
  return new TextDecoder().decode(end < 0 ? b : b.subarray(0, end));
}

/** A numeric header field: octal text, or GNU base-256 when the top bit is set. */
function num(b: Uint8Array): number {
  if (b[0] & 0x80) {
    let v = b[0] & 0x7f;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i];
    return v;
  }
  const s = text(b).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** pax extended header records: "<len> key=value\n" ... */
function paxPath(data: Uint8Array): string | undefined {
  const s = new TextDecoder().decode(data);
  for (const m of s.matchAll(/\d+ ([^=]+)=([^\n]*)\n/g)) if (m[1] === 'path') return m[2];
  return undefined;
}

/** Reads tar blocks from a byte stream of any chunking. */
class Reader {
  private buf: Uint8Array = new Uint8Array(0);
  private done = false;
  constructor(private readonly it: AsyncIterator<Uint8Array>) {}

  /** Exactly n bytes, or fewer at end of stream; with keep = false they are skipped (an empty array returns). */
  async take(n: number, keep = true): Promise<{ bytes: Uint8Array; got: number }> {
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < n) {
      if (this.buf.length === 0) {
        if (this.done) break;
        const r = await this.it.next();
        if (r.done) { this.done = true; break; }
        this.buf = r.value;
        continue;
      }
      const k = Math.min(n - got, this.buf.length);
      if (keep) parts.push(this.buf.subarray(0, k));
      this.buf = this.buf.subarray(k);
      got += k;
    }
    if (!keep) return { bytes: new Uint8Array(0), got };
    const bytes = new Uint8Array(got);
    let at = 0;
    for (const p of parts) { bytes.set(p, at); at += p.length; }
    return { bytes, got };
  }
}

export async function* readTar(chunks: AsyncIterable<Uint8Array>, want: (path: string) => boolean = () => true): AsyncGenerator<TarFile> {
  const r = new Reader(chunks[Symbol.asyncIterator]());
  let longName: string | undefined;
  for (;;) {
    const { bytes: h } = await r.take(BLOCK);
    if (h.length === 0) return; // end of stream without the closing zero blocks: tolerated
    if (h.length < BLOCK) throw new Error('tar: truncated header');
    if (h.every((b) => b === 0)) return; // end-of-archive marker
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== num(h.subarray(148, 156))) throw new Error('tar: bad header checksum (not a tar archive, or corrupt)');
    const size = num(h.subarray(124, 136));
    const type = String.fromCharCode(h[156] || 48);
    const magic = text(h.subarray(257, 263));
    const prefix = magic === 'ustar' ? text(h.subarray(345, 500)) : '';
    const name = longName ?? (prefix ? `${prefix}/${text(h.subarray(0, 100))}` : text(h.subarray(0, 100)));
    longName = undefined;
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const isFile = type === '0' || type === '7';
    const meta = type === 'L' || type === 'x';
    const keep = meta || (isFile && want(name));
    const { bytes: body, got } = await r.take(padded, keep);
    if (got < padded) throw new Error(`tar: truncated data for ${name}`);
    if (type === 'L') longName = text(body.subarray(0, size));
    else if (type === 'x') longName = paxPath(body.subarray(0, size));
    else if (keep) yield { path: name, data: body.subarray(0, size) };
  }
}

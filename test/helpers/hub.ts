// A stand-in for the Hugging Face Hub on 127.0.0.1 (the requests and headers huggingface_hub's
// hf_hub_download and snapshot_download rely on), and a hub cache written the way huggingface_hub
// writes it. Fixture files are read from ../shared and only ever copied into temp folders.
//
// Hub server (one origin) and a "CDN" server (another origin, as cdn-lfs / cas-bridge are):
//   GET  /api/models/{org}/{name}/revision/{rev}  -> {id, sha, siblings: [{rfilename}], gated}
//   HEAD|GET /{org}/{name}/resolve/{rev}/{file}:
//        LFS files (*.safetensors, *.bin, *.model): 302 to the CDN, X-Linked-Etag "<sha256>",
//        X-Linked-Size, X-Repo-Commit, ETag (a different value: clients must prefer X-Linked-Etag)
//        other files: 200, ETag "<git blob sha1>", Content-Length, X-Repo-Commit (GET honours Range)
//   CDN GET /lfs/{sha256}: the bytes, Range: bytes=N- -> 206 + Content-Range; refuses an Authorization header
//   errors as the Hub sends them: X-Error-Code RepoNotFound (401 without a token), RevisionNotFound
//   (404), EntryNotFound (404), GatedRepo (401 without a token, 403 with one that has no access),
//   X-Error-Message "Invalid credentials in Authorization header" (401) for an unknown token.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';

export const isLfs = (file: string): boolean => /\.(safetensors|bin|model)$/.test(file);
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const gitBlobSha1 = (b: Buffer): string => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
/** The blob name the Hub gives a file: sha256 for LFS files, the git blob sha1 otherwise. */
export const hubEtag = (file: string, b: Buffer): string => (isLfs(file) ? sha256(b) : gitBlobSha1(b));
export const fakeCommit = (seed: string): string => createHash('sha1').update(seed).digest('hex');

export interface FakeRepo {
  id: string;
  commit: string;
  files: Record<string, Buffer>;
  /** Branches and tags -> commit (main -> commit by default). */
  refs?: Record<string, string>;
  gated?: boolean;
}

export interface LoggedRequest { server: 'hub' | 'cdn'; method: string; path: string; range: string | null; auth: string | null }

export interface FakeHub {
  endpoint: string;
  cdn: string;
  log: LoggedRequest[];
  /** Bytes the CDN sends of a blob before it drops the connection (null: all), per request. */
  cut: ((etag: string, start: number, requestNo: number) => number | null) | null;
  /** Replace the bytes served for a blob (to test hash verification). */
  corrupt: Set<string>;
  close(): Promise<void>;
}

export function filesOf(dir: string): Record<string, Buffer> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f))]));
}

/**
 * Starts the fake Hub for `repos`. `token` is a valid access token with access to the gated repos;
 * tokens starting `hf_noaccess` are valid but have no gated access; any other token is invalid.
 */
export async function startFakeHub(repos: FakeRepo[], token: string | null = null): Promise<FakeHub> {
  const byId = new Map(repos.map((r) => [r.id, r]));
  const blobs = new Map<string, Buffer>();
  for (const r of repos) for (const [f, b] of Object.entries(r.files)) if (isLfs(f)) blobs.set(sha256(b), b);
  const hub: FakeHub = { endpoint: '', cdn: '', log: [], cut: null, corrupt: new Set(), close: async () => {} };
  let requests = 0;
  const perBlob = new Map<string, number>();

  const error = (res: ServerResponse, status: number, code: string | null, message: string): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...(code ? { 'x-error-code': code } : {}), 'x-error-message': message });
    res.end(JSON.stringify({ error: message }));
  };

  /** Sends `body` (or its range), honouring Range: bytes=N- and an optional cut after `limit` bytes. */
  const send = (req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string>, limit: number | null): void => {
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    if (start > body.length || (m && start === body.length && body.length > 0)) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` });
      res.end();
      return;
    }
    const part = body.subarray(start);
    res.writeHead(m ? 206 : 200, {
      ...headers, 'content-length': String(part.length), 'accept-ranges': 'bytes',
      ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    if (limit === null || limit >= part.length) return void res.end(part);
    res.write(part.subarray(0, limit), () => res.socket?.destroy());
  };

  const hubServer = createServer((req, res) => {
    if (++requests > 2000) return void req.socket.destroy();   // a client in a loop: stop answering
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization ?? null;
    hub.log.push({ server: 'hub', method: req.method ?? '', path: url.pathname, range: req.headers.range ?? null, auth });
    const given = auth?.replace(/^Bearer /, '') ?? null;
    if (given !== null && given !== token && !given.startsWith('hf_noaccess')) return error(res, 401, null, 'Invalid credentials in Authorization header');
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(url.pathname);
    const resolve = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    const m = api ?? resolve;
    if (!m) return error(res, 404, null, 'Not found');
    const repo = byId.get(decodeURIComponent(m[1]));
    if (!repo) return error(res, given ? 404 : 401, 'RepoNotFound', 'Repository not found');
    const rev = decodeURIComponent(m[2]);
    const refs: Record<string, string> = { main: repo.commit, ...repo.refs };
    const commit = rev === repo.commit || Object.values(refs).includes(rev) ? rev : refs[rev];
    if (!commit) return error(res, 404, 'RevisionNotFound', 'Invalid rev id');
    if (api) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.end(JSON.stringify({ id: repo.id, sha: commit, gated: repo.gated ? 'manual' : false, siblings: Object.keys(repo.files).map((f) => ({ rfilename: f })) }));
    }
    if (repo.gated && given !== token) return error(res, given ? 403 : 401, 'GatedRepo', 'Access to model is restricted');
    const file = decodeURIComponent(resolve![3]);
    const body = repo.files[file];
    if (!body) {
      res.setHeader('x-repo-commit', commit);
      return error(res, 404, 'EntryNotFound', 'Entry not found');
    }
    const common = { 'x-repo-commit': commit };
    if (isLfs(file)) {
      const h = sha256(body);
      res.writeHead(302, { ...common, location: `${hub.cdn}/lfs/${h}`, 'x-linked-etag': `"${h}"`, 'x-linked-size': String(body.length), etag: `"${gitBlobSha1(Buffer.from(`pointer ${h}`))}"` });
      return void res.end();
    }
    send(req, res, body, { ...common, etag: `"${gitBlobSha1(body)}"`, 'content-type': 'application/octet-stream' }, null);
  });

  const cdnServer = createServer((req, res) => {
    if (++requests > 2000) return void req.socket.destroy();
    const url = new URL(req.url ?? '/', 'http://x');
    hub.log.push({ server: 'cdn', method: req.method ?? '', path: url.pathname, range: req.headers.range ?? null, auth: req.headers.authorization ?? null });
    if (req.headers.authorization) return error(res, 400, null, 'Only one auth mechanism allowed');   // as S3 does
    const m = /^\/lfs\/([0-9a-f]{64})$/.exec(url.pathname);
    const body = m ? blobs.get(m[1]) : undefined;
    if (!m || !body) return error(res, 404, null, 'NoSuchKey');
    const n = (perBlob.get(m[1]) ?? 0) + 1;
    perBlob.set(m[1], n);
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
    let served = body;
    if (hub.corrupt.has(m[1])) {
      served = Buffer.from(body);
      served[served.length >> 1] ^= 0xff;
    }
    send(req, res, served, { 'content-type': 'application/octet-stream', etag: `"${m[1]}"` }, hub.cut?.(m[1], start, n) ?? null);
  });

  const listen = (s: Server): Promise<string> => new Promise((ok) => s.listen(0, '127.0.0.1', () => ok(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
  hub.endpoint = await listen(hubServer);
  hub.cdn = await listen(cdnServer);
  hub.close = async () => {
    for (const s of [hubServer, cdnServer]) {
      s.closeAllConnections();
      await new Promise<void>((ok) => s.close(() => ok()));
    }
  };
  return hub;
}

/**
 * Writes `files` into a hub cache as huggingface_hub does: blobs/<etag> (copies), relative symlinks
 * snapshots/<commit>/<file> -> ../../blobs/<etag>, and refs/<ref> = commit for each ref.
 */
export function writeHubCache(cacheDir: string, id: string, commit: string, files: Record<string, Buffer>, refs: string[] = ['main']): string {
  const storage = join(cacheDir, `models--${id.replace('/', '--')}`);
  const snap = join(storage, 'snapshots', commit);
  mkdirSync(join(storage, 'blobs'), { recursive: true });
  mkdirSync(snap, { recursive: true });
  for (const [f, b] of Object.entries(files)) {
    const blob = join(storage, 'blobs', hubEtag(f, b));
    writeFileSync(blob, b);
    mkdirSync(dirname(join(snap, f)), { recursive: true });
    symlinkSync(relative(dirname(join(snap, f)), blob), join(snap, f));
  }
  for (const r of refs) {
    mkdirSync(dirname(join(storage, 'refs', r)), { recursive: true });
    writeFileSync(join(storage, 'refs', r), commit);
  }
  return snap;
}

/** Copies a fixture directory's files into a hub cache (copies only: ../shared stays untouched). */
export function cacheFromDir(cacheDir: string, id: string, dir: string, commit: string): string {
  const snap = writeHubCache(cacheDir, id, commit, {});
  const storage = dirname(dirname(snap));
  for (const f of readdirSync(dir)) {
    const b = readFileSync(join(dir, f));
    const blob = join(storage, 'blobs', hubEtag(f, b));
    copyFileSync(join(dir, f), blob);
    symlinkSync(relative(snap, blob), join(snap, f));
  }
  return snap;
}

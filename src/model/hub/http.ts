// The three Hub requests huggingface_hub makes to fill its cache, with its rules:
//   GET  {endpoint}/api/models/{id}/revision/{rev}   the commit a revision names, and the repo's files
//   HEAD {endpoint}/{id}/resolve/{commit}/{file}     Accept-Encoding: identity, only relative redirects
//        followed (a renamed repo); headers X-Repo-Commit, X-Linked-Etag or ETag (the blob name),
//        X-Linked-Size or Content-Length, and Location (the CDN) for LFS files
//   GET  the file (Range: bytes=N- to resume a partial blob), redirects followed by hand so that the
//        Authorization header is dropped when the origin changes
// Errors follow the Hub's X-Error-Code header (GatedRepo, RepoNotFound, RevisionNotFound,
// EntryNotFound) and become one-line UserErrors naming the repository and the fix.
import fs from 'node:fs';
import { UserError } from '../../errors.ts';
import type { HubEnv } from './cache.ts';

export interface RevisionInfo {
  commit: string;
  files: string[];
  gated: boolean;
}

export interface FileMeta {
  etag: string;            // normalized (no W/, no quotes): the blob's name in the cache
  size: number;
  url: string;             // where to GET it (the CDN location for LFS files)
}

export type ProgressFactory = (label: string, totalBytes: number) => { update(doneBytes: number): void; stop(): void };

const API_TIMEOUT_MS = 30_000;
const STALL_TIMEOUT_MS = 60_000;
const MAX_ATTEMPTS = 5;
const MAX_REDIRECTS = 5;

/** huggingface_hub's _normalize_etag. */
export const normalizeEtag = (e: string): string => e.replace(/^W\//, '').replace(/^"+|"+$/g, '');

/** A transport failure (no HTTP answer): the caller decides whether that means "offline". */
export class HubUnreachable extends Error {
  override name = 'HubUnreachable';
}

function causeOf(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (e as Error).message;
}

export class HubClient {
  constructor(readonly env: HubEnv, private readonly fetchFn: typeof fetch = fetch) {}

  private headers(withAuth: boolean, extra: Record<string, string> = {}): Record<string, string> {
    return {
      'user-agent': 'bellm-bench; hf_hub-compatible',
      ...(withAuth && this.env.token ? { authorization: `Bearer ${this.env.token}` } : {}),
      ...extra,
    };
  }

  private async request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.fetchFn(url, init);
    } catch (e) {
      throw new HubUnreachable(`cannot reach ${new URL(url).origin} (${causeOf(e)})`);
    }
  }

  /** One-line error for a failed Hub answer. `file` names the file asked for, if any. */
  private async fail(res: Response, id: string, revision: string, file?: string): Promise<never> {
    const code = res.headers.get('x-error-code');
    const message = res.headers.get('x-error-message') ?? '';
    await res.body?.cancel().catch(() => undefined);
    const page = `${this.env.endpoint}/${id}`;
    if (code === 'GatedRepo') {
      if (!this.env.token) {
        throw new UserError(`${id} is a gated repository: accept its licence at ${page} with your Hugging Face account, then set HF_TOKEN to an access token of that account (or log in with \`hf auth login\`)`);
      }
      throw new UserError(`${id} is a gated repository and the token from ${this.env.tokenSource} has no access (HTTP ${res.status}): accept its licence at ${page} with the account that token belongs to, or use another token`);
    }
    if (code === 'RevisionNotFound') throw new UserError(`${id} has no revision "${revision}" (branch, tag or commit) on ${this.env.endpoint}: check --revision / @revision`);
    if (code === 'EntryNotFound') throw new UserError(`${id}@${revision} has no file ${file ?? '?'} on ${this.env.endpoint}`);
    if (res.status === 401 && /invalid credentials/i.test(message)) {
      throw new UserError(`the Hugging Face token from ${this.env.tokenSource} is invalid (HTTP 401): set HF_TOKEN to a valid access token`);
    }
    if (code === 'RepoNotFound' || res.status === 401 || res.status === 404) {
      throw new UserError(`${id}: no such model repository on ${this.env.endpoint}` +
        (this.env.token ? ' that this token can see' : ' (or it is private or gated: set HF_TOKEN)') + '; check the id');
    }
    if (res.status === 403) throw new UserError(`${this.env.endpoint} refused access to ${id}${file ? `/${file}` : ''} (HTTP 403${message ? `: ${message}` : ''}): check HF_TOKEN's permissions`);
    throw new UserError(`${this.env.endpoint} answered HTTP ${res.status} for ${id}${file ? `/${file}` : ''}@${revision}${message ? ` (${message})` : ''}; try again later`);
  }

  /** The commit `revision` names and the repository's file list. */
  async revisionInfo(id: string, revision: string): Promise<RevisionInfo> {
    const url = `${this.env.endpoint}/api/models/${id}/revision/${encodeURIComponent(revision)}`;
    const res = await this.request(url, { headers: this.headers(true), signal: AbortSignal.timeout(API_TIMEOUT_MS) });
    if (!res.ok) return this.fail(res, id, revision);
    let json: { sha?: unknown; siblings?: { rfilename?: unknown }[]; gated?: unknown };
    try {
      json = await res.json() as typeof json;
    } catch {
      throw new UserError(`${url} did not answer JSON: is HF_ENDPOINT (${this.env.endpoint}) a Hugging Face Hub?`);
    }
    if (typeof json.sha !== 'string' || !/^[0-9a-f]{40}$/.test(json.sha) || !Array.isArray(json.siblings)) {
      throw new UserError(`${url} answered without a commit sha or file list: is HF_ENDPOINT (${this.env.endpoint}) a Hugging Face Hub?`);
    }
    return {
      commit: json.sha,
      files: json.siblings.map((s) => s.rfilename).filter((f): f is string => typeof f === 'string'),
      gated: json.gated !== undefined && json.gated !== false,
    };
  }

  /** Etag, size and download location of one file at a commit (HEAD, like hf_hub_download). */
  async fileMeta(id: string, commit: string, file: string): Promise<FileMeta> {
    let url = `${this.env.endpoint}/${id}/resolve/${commit}/${file.split('/').map(encodeURIComponent).join('/')}`;
    for (let hop = 0; ; hop++) {
      const res = await this.request(url, {
        method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(API_TIMEOUT_MS),
        headers: this.headers(true, { 'accept-encoding': 'identity' }),
      });
      const location = res.headers.get('location');
      const redirect = res.status >= 300 && res.status < 400 && location;
      if (redirect && location.startsWith('/') && !location.startsWith('//') && hop < MAX_REDIRECTS) {
        url = new URL(location, url).href;            // relative: the repo was renamed or moved
        continue;
      }
      if (!redirect && !res.ok) return this.fail(res, id, commit, file);
      const etag = res.headers.get('x-linked-etag') ?? res.headers.get('etag');
      const size = Number(res.headers.get('x-linked-size') ?? (redirect ? NaN : res.headers.get('content-length')));
      if (!etag) throw new UserError(`${url} has no ETag: is HF_ENDPOINT (${this.env.endpoint}) a Hugging Face Hub?`);
      if (!Number.isSafeInteger(size) || size < 0) throw new UserError(`${url} gives no file size: is HF_ENDPOINT (${this.env.endpoint}) a Hugging Face Hub?`);
      const name = normalizeEtag(etag);
      // the etag becomes a file name under blobs/
      if (!/^[\w.-]{1,200}$/.test(name) || name.includes('..')) throw new UserError(`${url} sent an unusable ETag ${JSON.stringify(etag)}: is HF_ENDPOINT (${this.env.endpoint}) a Hugging Face Hub?`);
      return { etag: name, size, url: redirect ? new URL(location, url).href : url };
    }
  }

  /**
   * Downloads `meta` into `part` (a blob's .incomplete file), resuming from its current length with
   * a Range request, retrying a broken transfer a few times from where it stopped. The file is left
   * in place if every attempt fails, so the next run resumes it.
   */
  async download(meta: FileMeta, part: string, what: { id: string; revision: string; file: string }, progress?: ProgressFactory): Promise<void> {
    const bar = progress?.(what.file, meta.size);
    fs.closeSync(fs.openSync(part, 'a'));   // exists from here on (an empty file needs no request)
    try {
      let lastError = '';
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
        if (have > meta.size) {
          fs.truncateSync(part, 0);
          have = 0;
        }
        if (have === meta.size) return;
        try {
          await this.fetchInto(meta, part, have, what, (n) => bar?.update(n));
        } catch (e) {
          if (e instanceof UserError) throw e;
          lastError = causeOf(e);
        }
      }
      const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
      if (have === meta.size) return;
      throw new UserError(`download of ${what.id}/${what.file} was interrupted after ${have} of ${meta.size} bytes (${lastError}, ${MAX_ATTEMPTS} attempts): run the command again to resume ${part}`);
    } finally {
      bar?.stop();
    }
  }

  /** One GET from byte `have` on, appended to `part`. Throws (not a UserError) when the transfer breaks. */
  private async fetchInto(meta: FileMeta, part: string, have: number, what: { id: string; revision: string; file: string }, onBytes: (n: number) => void): Promise<void> {
    const first = new URL(meta.url);
    const origin = new URL(this.env.endpoint).origin;
    let url = first.href;
    let res: Response | null = null;
    const ctrl = new AbortController();
    let timer = setTimeout(() => ctrl.abort(new Error('stalled')), STALL_TIMEOUT_MS);
    try {
      for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        res = await this.request(url, {
          redirect: 'manual', signal: ctrl.signal,
          headers: this.headers(new URL(url).origin === origin, { 'accept-encoding': 'identity', ...(have > 0 ? { range: `bytes=${have}-` } : {}) }),
        });
        const location = res.headers.get('location');
        if (res.status >= 300 && res.status < 400 && location) {
          await res.body?.cancel().catch(() => undefined);
          url = new URL(location, url).href;
          continue;
        }
        break;
      }
      if (!res) throw new Error('no response');
      let fd: number;
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
        if (!m || Number(m[1]) !== have) {
          await res.body?.cancel().catch(() => undefined);
          fs.truncateSync(part, 0);                   // a range we did not ask for: start over
          throw new Error(`unexpected Content-Range ${res.headers.get('content-range')}`);
        }
        fd = fs.openSync(part, 'a');
      } else if (res.status === 200) {
        fd = fs.openSync(part, 'w');                  // the server ignored Range: start over
        have = 0;
      } else if (res.status === 416 && have > 0) {
        await res.body?.cancel().catch(() => undefined);
        fs.truncateSync(part, 0);
        throw new Error('range not satisfiable');
      } else {
        return await this.fail(res, what.id, what.revision, what.file);
      }
      let done = have;
      onBytes(done);
      try {
        if (!res.body) throw new Error('empty body');
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          clearTimeout(timer);
          timer = setTimeout(() => ctrl.abort(new Error('stalled')), STALL_TIMEOUT_MS);
          if (done + chunk.length > meta.size) throw new UserError(`${url} sent more than the ${meta.size} bytes the Hub announced for ${what.id}/${what.file}`);
          fs.writeSync(fd, chunk);
          done += chunk.length;
          onBytes(done);
        }
      } finally {
        fs.closeSync(fd);
      }
      if (done !== meta.size) throw new Error(`connection closed after ${done} of ${meta.size} bytes`);
    } finally {
      clearTimeout(timer);
    }
  }
}

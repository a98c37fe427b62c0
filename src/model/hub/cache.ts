// The Hugging Face hub cache as huggingface_hub and transformers write it, so files are shared both ways:
//   <cache>/models--org--name/refs/<revision>            the commit a branch or tag pointed to (text)
//   <cache>/models--org--name/blobs/<etag>               file contents, named by the Hub's hash
//                                                        (sha256 for LFS files, the git blob sha1 otherwise)
//   <cache>/models--org--name/snapshots/<commit>/<file>  relative symlinks into blobs/
// <cache> is $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (older name), else $HF_HOME/hub, with
// $HF_HOME defaulting to $XDG_CACHE_HOME/huggingface or ~/.cache/huggingface (huggingface_hub's rule;
// @huggingface/hub's getHFHubCachePath agrees, a test checks it). The folder name comes from
// @huggingface/hub's getRepoFolderName.
import fs from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { getRepoFolderName } from '@huggingface/hub';
import { hashStream } from '../formats/file-hash.ts';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubEnv {
  cacheDir: string;
  endpoint: string;        // HF_ENDPOINT, no trailing slash
  token: string | null;    // HF_TOKEN, else the token file `huggingface-cli login` / `hf auth login` writes
  tokenSource: string | null;
  offline: boolean;        // HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is true
}

/** huggingface_hub's _is_true. */
const isTrue = (v: string | undefined): boolean => v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.toUpperCase());

export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'huggingface');
  return env.HF_HUB_CACHE ?? env.HUGGINGFACE_HUB_CACHE ?? path.join(home, 'hub');
}

export function hubEnv(env: NodeJS.ProcessEnv = process.env): HubEnv {
  const home = env.HF_HOME ?? path.join(env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'huggingface');
  // huggingface_hub _get_token_from_environment: HF_TOKEN or HUGGING_FACE_HUB_TOKEN (Python's `or`: an
  // empty HF_TOKEN defers to the other), then _clean_token (CR and LF removed, stripped; empty = none)
  const raw = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN;
  let token: string | null = raw ? raw.replace(/[\r\n]/g, '').trim() || null : null;
  let tokenSource: string | null = token ? (env.HF_TOKEN ? 'HF_TOKEN' : 'HUGGING_FACE_HUB_TOKEN') : null;
  if (!token) {
    const file = env.HF_TOKEN_PATH ?? path.join(home, 'token');
    try {
      token = fs.readFileSync(file, 'utf8').trim() || null;
      if (token) tokenSource = file;
    } catch { /* no token file */ }
  }
  return {
    cacheDir: hubCacheDir(env),
    endpoint: (env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, ''),
    token, tokenSource,
    // huggingface_hub constants.py: _is_true(os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE")):
    // Python's `or`, so an empty HF_HUB_OFFLINE defers to TRANSFORMERS_OFFLINE
    offline: isTrue(env.HF_HUB_OFFLINE || env.TRANSFORMERS_OFFLINE),
  };
}

/** <cache>/models--org--name */
export function repoFolder(cacheDir: string, id: string): string {
  return path.join(cacheDir, getRepoFolderName({ type: 'model', name: id }));
}

export function snapshotDir(storage: string, commit: string): string {
  return path.join(storage, 'snapshots', commit);
}

export function blobPath(storage: string, etag: string): string {
  return path.join(storage, 'blobs', etag);
}

/** The commit refs/<revision> names, or null when it is not cached. */
export function readRef(storage: string, revision: string): string | null {
  try {
    const c = fs.readFileSync(path.join(storage, 'refs', revision), 'utf8').trim();
    return /^[0-9a-f]{40}$/.test(c) ? c : null;
  } catch {
    return null;
  }
}

/** refs/<revision> = commit, written atomically (a reader never sees half a hash). */
export function writeRef(storage: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const ref = path.join(storage, 'refs', revision);
  fs.mkdirSync(path.dirname(ref), { recursive: true });
  if (readRef(storage, revision) === commit) return;
  const tmp = `${ref}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, commit);
  fs.renameSync(tmp, ref);
}

/** snapshots/<commit>/<file> -> ../../blobs/<etag> (relative, as huggingface_hub links; a copy where links fail). */
export function linkIntoSnapshot(storage: string, commit: string, file: string, etag: string): string {
  const dst = path.join(snapshotDir(storage, commit), file);
  const src = blobPath(storage, etag);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.rmSync(dst, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(dst), src), dst);
  } catch {
    fs.copyFileSync(src, dst);
  }
  return dst;
}

/** The Hub's hash of a snapshot file: the name of the blob it links to (null for a plain file). */
export function hubHashOf(snapshotFile: string): string | null {
  try {
    if (!fs.lstatSync(snapshotFile).isSymbolicLink()) return null;
    const real = fs.realpathSync(snapshotFile);
    return path.basename(path.dirname(real)) === 'blobs' ? path.basename(real) : null;
  } catch {
    return null;
  }
}

/**
 * Does the file's content match the Hub's hash? A 64-hex etag is the sha256 of an LFS file's content,
 * a 40-hex one the git blob sha1 (sha1 of "blob <size>\0" + content); any other form cannot be checked.
 */
export function checkHubHash(file: string, etag: string): 'ok' | 'mismatch' | 'unchecked' {
  const kind = /^[0-9a-f]{64}$/.test(etag) ? 'sha256' : /^[0-9a-f]{40}$/.test(etag) ? 'sha1' : null;
  if (!kind) return 'unchecked';
  const digest = hashStream(file, { algorithm: kind, ...(kind === 'sha1' ? { prefix: `blob ${fs.statSync(file).size}\0` } : {}) });
  return digest === etag ? 'ok' : 'mismatch';
}

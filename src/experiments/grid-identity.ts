// Is a finished cell's results file still the result of the files it names? A cell's key already
// covers every setting; this checks what a key cannot see: the model, adapter, tokenizer and task files
// on disk now against the provenance the results recorded when they were computed. A grid reuses a
// results file only when this returns null.
//
// This is the single place that decision is made. The checks below use today's provenance (the
// checkpoint fingerprint hashes each safetensors file's name, size and header; the adapter and data
// files are hashed whole); the full run identity of issue 13 (content hashes of the weights) replaces
// this function's body, not its callers.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Checkpoint } from '../model/checkpoint.ts';
import { ADAPTER_BIN, ADAPTER_SAFETENSORS, sha256File } from '../model/lora.ts';
import { loadTokenizer } from '../model/tokenizer.ts';
import type { Results } from './results.ts';

const memo = new Map<string, string>();
function remembered(key: string, compute: () => string): string {
  let v = memo.get(key);
  if (v === undefined) {
    try {
      v = compute();
    } catch (e) {
      v = `unreadable: ${(e as Error).message.split('\n')[0]}`;
    }
    memo.set(key, v);
  }
  return v;
}

/** Forget remembered hashes (tests that rewrite files within one process). */
export function forgetIdentityHashes(): void {
  memo.clear();
}

/** Why `results` is no longer current (the files it was computed from changed), or null. */
export function resultsIdentityProblem(results: Results): string | null {
  const p = results.provenance;
  if (!p?.model?.dir || !p.tokenizer || !p.data) return 'the results record no provenance';
  const fp = remembered(`model:${p.model.dir}`, () => Checkpoint.open(p.model.dir).fingerprint);
  if (fp !== p.model.fingerprint) return `the checkpoint in ${p.model.dir} changed since the results were computed`;
  const ad = p.adapter as { dir?: string; format?: string; sha256?: string } | null;
  if (ad) {
    const file = join(ad.dir ?? '', ad.format === 'bin' ? ADAPTER_BIN : ADAPTER_SAFETENSORS);
    if (remembered(`file:${file}`, () => sha256File(file)) !== ad.sha256) return `the adapter ${file} changed since the results were computed`;
  }
  const tok = remembered(`tokenizer:${p.model.dir}`, () => loadTokenizer(p.model.dir).fingerprint);
  if (tok !== p.tokenizer.fingerprint) return `the tokenizer of ${p.model.dir} changed since the results were computed`;
  for (const [f, sum] of Object.entries(p.data.checksums ?? {})) {
    const file = join(p.data.dir, f);
    if (!existsSync(file) || remembered(`file:${file}`, () => sha256File(file)) !== sum) return `the task file ${file} changed since the results were computed`;
  }
  return null;
}

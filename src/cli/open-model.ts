// Opening the model a command names: Hugging Face ids resolved from the hub cache (or downloaded into
// it) before any long work, --dtype from the flag or the preset, then the weights.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../errors.ts';
import { progressBar, info } from '../experiments/progress.ts';
import { openEmbedder } from '../experiments/setup.ts';
import type { Embedder } from '../model/embedder.ts';
import type { ProgressFactory } from '../model/hub/http.ts';
import { resolveSource } from '../model/hub/resolve.ts';
import { parseDtype } from '../model/precision.ts';
import { getPreset } from '../model/presets.ts';
import type { ModelArgs } from './model-options.ts';

/** A download progress bar per file, in MB (stderr, TTY only). */
function downloadProgress(quiet: boolean): ProgressFactory {
  return (label, total) => {
    const bar = progressBar(`download ${label}`, quiet, 'MB');
    const mb = (b: number): number => Math.round(b / 1e5) / 10;
    return { update: (done) => bar.update(mb(done), mb(total)), stop: () => bar.stop() };
  };
}

/**
 * BiLLM mask compatibility reproduces right padding (the released code pools at the last non-padding
 * token and keeps positions 0..T-1). A tokenizer configured for left padding would have given other
 * numbers there (shifted positions): refuse rather than guess.
 */
function checkCompatPadding(modelDir: string, mask: string): void {
  if (mask !== 'billm') return;
  const file = path.join(modelDir, 'tokenizer_config.json');
  if (!fs.existsSync(file)) return;
  let side: unknown;
  try {
    side = (JSON.parse(fs.readFileSync(file, 'utf8')) as { padding_side?: unknown }).padding_side;
  } catch {
    return; // the tokenizer loader names a malformed file
  }
  if (side === 'left') {
    throw new UserError(`${file} sets padding_side "left": BiLLM mask compatibility (--billm-mask-compat, preset bellm-paper) reproduces right padding only`);
  }
}

export async function openModel(a: ModelArgs, mask = 'correct'): Promise<{ embedder: Embedder; loadSeconds: number; batchTokens: number }> {
  if (a['lora-revision'] !== undefined && a.lora === undefined) throw new UserError('--lora-revision needs --lora');
  const dtype = parseDtype(a.dtype ?? getPreset(a.preset).dtype ?? 'auto');
  const log = (m: string): void => info(a.quiet, m);
  const progress = downloadProgress(a.quiet);
  const model = await resolveSource(a.model, { kind: 'model', flag: '--model', revision: a.revision, progress, log });
  const lora = a.lora ? await resolveSource(a.lora, { kind: 'adapter', flag: '--lora', revision: a['lora-revision'], progress, log }) : null;
  checkCompatPadding(model.dir, mask);
  const hub = model.hub || lora?.hub ? { model: model.hub, adapter: lora?.hub ?? null } : undefined;
  return openEmbedder({ model: model.dir, lora: lora?.dir, device: a.device, quiet: a.quiet, dtype, ...(hub ? { hub } : {}) });
}

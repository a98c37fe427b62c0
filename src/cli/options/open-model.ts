// Opening the model a command names: Hugging Face ids resolved from the hub cache (or downloaded into
// it) before any long work, --dtype from the flag or the preset (resolveModel); then the weights (openResolved).
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { progressBar, info } from '../../experiments/run/progress.ts';
import { openEmbedder, type HubProvenance } from '../../experiments/run/setup.ts';
import type { Embedder } from '../../model/embed/embedder.ts';
import type { ProgressFactory } from '../../model/hub/http.ts';
import { resolveSource } from '../../model/hub/resolve.ts';
import { parseDtype, type DtypeOption } from '../../model/formats/precision.ts';
import { getPreset } from '../../model/presets/presets.ts';
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

/** The --dtype a run loads with: the flag, else what the preset(s) fix, else auto. */
export function dtypeOf(a: Pick<ModelArgs, 'dtype' | 'preset'>): DtypeOption {
  return parseDtype(a.dtype ?? presetDtype(a.preset));
}

/** The --dtype the preset(s) fix (`sts --preset a,b,c` loads one model: they must agree), else auto. */
function presetDtype(presets: string): string {
  const names = presets.split(',').map((x) => x.trim()).filter(Boolean);
  const fixed = [...new Set(names.map((n) => getPreset(n).dtype ?? 'auto'))];
  if (fixed.length > 1) throw new UserError(`--preset ${presets}: the presets fix different --dtype (${fixed.join(', ')}) and share one loaded model; pass --dtype`);
  return fixed[0] ?? 'auto';
}

/**
 * The model a command names, as the arguments give it: the part of a run's spec that says what to open
 * and how. Built once at the door (`modelSource`); nothing below reads the parsed arguments.
 */
export interface ModelSource {
  model: string;
  lora?: string;
  revision?: string;
  loraRevision?: string;
  dtype: DtypeOption;
  device: string;
  verifyWeights: boolean;
  quiet: boolean;
}

/** The model source of parsed arguments (--lora-revision needs --lora; --dtype from the flag or the preset). */
export function modelSource(a: ModelArgs): ModelSource {
  if (a['lora-revision'] !== undefined && a.lora === undefined) throw new UserError('--lora-revision needs --lora');
  return {
    model: a.model, lora: a.lora, revision: a.revision, loraRevision: a['lora-revision'], dtype: dtypeOf(a),
    device: a.device, verifyWeights: a['verify-weights'], quiet: a.quiet,
  };
}

/** The model and adapter a command names, resolved to folders (Hub ids from the cache or downloaded). */
export interface ResolvedModel {
  /** Folder of config.json and the weights: read by preflight checks before anything loads. */
  modelDir: string;
  loraDir?: string;
  hub?: HubProvenance;
  dtype: DtypeOption;
  /** What the run names in default results names: a folder as given, or id@commit for a Hub id. */
  modelRef: string;
  loraRef?: string;
}

/**
 * Step one of opening a model, before any long work: Hub ids resolved (a download, if one is needed,
 * happens here), --dtype from the flag or the preset, and the compat-padding check.
 */
export async function resolveModel(a: ModelSource, mask = 'correct', o: { offline?: boolean } = {}): Promise<ResolvedModel> {
  const dtype = a.dtype;
  const log = (m: string): void => info(a.quiet, m);
  const progress = downloadProgress(a.quiet);
  // offline: the hub cache only (an experiment grid checking finished cells never downloads)
  const env = o.offline ? { ...process.env, HF_HUB_OFFLINE: '1' } : undefined;
  const model = await resolveSource(a.model, { kind: 'model', flag: '--model', revision: a.revision, progress, log, ...(env ? { env } : {}) });
  const lora = a.lora ? await resolveSource(a.lora, { kind: 'adapter', flag: '--lora', revision: a.loraRevision, progress, log, ...(env ? { env } : {}) }) : null;
  checkCompatPadding(model.dir, mask);
  const hub = model.hub || lora?.hub ? { model: model.hub, adapter: lora?.hub ?? null } : undefined;
  const ref = (given: string, h: { id: string; commit: string } | null) => (h ? `${h.id}@${h.commit}` : given);
  return {
    modelDir: model.dir, ...(lora ? { loraDir: lora.dir, loraRef: ref(a.lora!, lora.hub) } : {}), ...(hub ? { hub } : {}),
    dtype, modelRef: ref(a.model, model.hub),
  };
}

/** A model kept open across runs (an experiment grid opens it once for every cell that shares it). */
export interface OpenedModel {
  resolved: ResolvedModel;
  embedder: Embedder;
  loadSeconds: number;
  batchTokens: number;
}

/** Both steps at once. */
export async function openModel(a: ModelSource, mask = 'correct'): Promise<OpenedModel> {
  const resolved = await resolveModel(a, mask);
  return { resolved, ...openResolved(resolved, a) };
}

/**
 * The open model for a run that resolved `r`, or `openResolved` when none is handed in. A model opened
 * for other folders or another --dtype is a grouping bug, never silently used.
 */
export function openedFor(r: ResolvedModel, a: ModelSource, opened?: OpenedModel): { embedder: Embedder; loadSeconds: number; batchTokens: number } {
  if (!opened) return openResolved(r, a);
  const o = opened.resolved;
  if (path.resolve(o.modelDir) !== path.resolve(r.modelDir) || (o.loraDir ? path.resolve(o.loraDir) : null) !== (r.loraDir ? path.resolve(r.loraDir) : null) || o.dtype !== r.dtype) {
    throw new Error(`internal: a model opened as ${o.modelDir} (${o.loraDir ?? 'no adapter'}, ${o.dtype}) was handed to a run of ${r.modelDir} (${r.loraDir ?? 'no adapter'}, ${r.dtype})`);
  }
  return opened;
}

/** Step two: the weights, tokenizer and backend of a resolved model. */
export function openResolved(r: ResolvedModel, a: ModelSource): { embedder: Embedder; loadSeconds: number; batchTokens: number } {
  return openEmbedder({
    model: r.modelDir, lora: r.loraDir, device: a.device, quiet: a.quiet, dtype: r.dtype, verifyWeights: a.verifyWeights,
    ...(r.hub ? { hub: r.hub } : {}),
  });
}

// PEFT LoRA adapters: adapter_config.json + adapter_model.safetensors (or adapter_model.bin).
// Keys: base_model.model.<module>.lora_A.weight [r, in] and .lora_B.weight [out, r]; merged as
// W += scale * B @ A with scale = lora_alpha / r (lora_alpha / sqrt(r) with use_rslora), per-module
// r / alpha from rank_pattern / alpha_pattern (PEFT's get_pattern_key rule).
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { sha256Stream } from '../formats/file-hash.ts';
import { LINEAR_MODULES, linearPath, linearShape, type LinearModule } from '../formats/checkpoint.ts';
import { fmtShape, SafetensorsFile, type TensorSource } from '../formats/safetensors.ts';
import { TorchBinFile } from '../formats/torch-bin.ts';
import type { LlamaConfig, LoraInfo, Matrix } from '../arch/types.ts';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_SAFETENSORS = 'adapter_model.safetensors';
export const ADAPTER_BIN = 'adapter_model.bin';

/** The adapter_config.json keys we use (PEFT's names); everything else is ignored or refused. */
export interface AdapterConfig {
  r: number;
  lora_alpha: number;
  use_rslora: boolean;
  target_modules: string[] | string | null;   // list of names/suffixes, or one regex (re.fullmatch)
  rank_pattern: Record<string, number>;
  alpha_pattern: Record<string, number>;
  /** PEFT's module selection beyond target_modules (see peftSelects). */
  layers_to_transform: number | number[] | null;
  layers_pattern: string | string[] | null;
  exclude_modules: string | string[] | null;
}

/** One adapted linear: its A/B keys and effective rank and scale. */
export interface LoraPair {
  module: string;          // e.g. model.layers.0.self_attn.q_proj
  layer: number;
  proj: LinearModule;
  keyA: string;            // [r, in]
  keyB: string;            // [out, r]
  r: number;
  alpha: number;
  scale: number;
}

export interface Adapter {
  dir: string;
  format: 'safetensors' | 'bin';
  file: string;
  source: TensorSource;
  config: AdapterConfig;
  pairs: LoraPair[];       // sorted by layer, then LINEAR_MODULES order
}

// Options that change the math away from W += scale * B @ A; refused rather than silently ignored.
const UNSUPPORTED: Record<string, string> = {
  use_dora: 'DoRA (use_dora) is not supported; merge it with PEFT (merge_and_unload) and load the merged model',
  fan_in_fan_out: 'fan_in_fan_out true (Conv1D-style weights) is not supported for LLaMA adapters',
  lora_bias: 'lora_bias true is not supported',
  use_qalora: 'QALoRA (use_qalora) is not supported',
  layer_replication: 'layer_replication is not supported',
  trainable_token_indices: 'trainable_token_indices is not supported (it changes embeddings)',
  target_parameters: 'target_parameters is not supported',
  alora_invocation_tokens: 'activated LoRA (alora_invocation_tokens) is not supported',
  use_bdlora: 'use_bdlora is not supported',
  arrow_config: 'arrow_config (routing over several adapters) is not supported',
};
// modules_to_save entries that the embedding forward never uses (heads), so can be ignored.
const HEAD_MODULES = new Set(['lm_head', 'score', 'classifier']);

const isSet = (v: unknown) =>
  v !== undefined && v !== null && v !== false && !(Array.isArray(v) && v.length === 0) &&
  !(typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

export function readAdapterConfig(dir: string): AdapterConfig {
  const file = path.join(dir, ADAPTER_CONFIG);
  if (!fs.existsSync(dir)) throw new UserError(`LoRA adapter directory ${dir} does not exist`);
  if (!fs.existsSync(file)) throw new UserError(`no ${ADAPTER_CONFIG} in ${dir}: expected a PEFT adapter directory`);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message})`);
  }
  return normalizeAdapterConfig(raw, file);
}

export function normalizeAdapterConfig(raw: Record<string, unknown>, file = ADAPTER_CONFIG): AdapterConfig {
  const fail = (msg: string) => new UserError(`${file}: ${msg}`);
  if (raw.peft_type !== undefined && raw.peft_type !== 'LORA') throw fail(`peft_type ${JSON.stringify(raw.peft_type)} is not supported (only LORA)`);
  for (const [k, why] of Object.entries(UNSUPPORTED)) if (isSet(raw[k])) throw fail(why);
  if ((raw.bias ?? 'none') !== 'none') throw fail(`bias ${JSON.stringify(raw.bias)} is not supported (only "none")`);
  const mts = raw.modules_to_save;
  if (isSet(mts)) {
    const extra = (Array.isArray(mts) ? mts : [mts]).filter((m) => !HEAD_MODULES.has(String(m)));
    if (extra.length) throw fail(`modules_to_save ${JSON.stringify(extra)} is not supported (fully trained modules); merge the adapter with PEFT and load the merged model`);
  }
  const r = raw.r;
  if (!Number.isSafeInteger(r) || (r as number) <= 0) throw fail(`r must be a positive integer, got ${JSON.stringify(r)}`);
  const alpha = raw.lora_alpha ?? 8;
  if (typeof alpha !== 'number' || !(alpha > 0)) throw fail(`lora_alpha must be a positive number, got ${JSON.stringify(alpha)}`);
  const tm = raw.target_modules ?? null;
  if (tm !== null && typeof tm !== 'string' && !(Array.isArray(tm) && tm.every((x) => typeof x === 'string')))
    throw fail(`target_modules must be a list of names or a regex string`);
  const pattern = (key: string): Record<string, number> => {
    const p = (raw[key] ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(p)) if (typeof v !== 'number' || !(v > 0)) throw fail(`${key}[${k}] must be a positive number`);
    return p as Record<string, number>;
  };
  const lt = raw.layers_to_transform ?? null;
  const nonNeg = (x: unknown) => Number.isSafeInteger(x) && (x as number) >= 0;
  if (lt !== null && !nonNeg(lt) && !(Array.isArray(lt) && lt.every(nonNeg))) throw fail(`layers_to_transform must be a layer index or a list of them, got ${JSON.stringify(lt)}`);
  const strs = (key: string): string | string[] | null => {
    const v = raw[key] ?? null;
    if (v !== null && typeof v !== 'string' && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw fail(`${key} must be a name, a list of names or a regex string, got ${JSON.stringify(v)}`);
    return v as string | string[] | null;
  };
  return {
    r: r as number, lora_alpha: alpha, use_rslora: raw.use_rslora === true, target_modules: tm as AdapterConfig['target_modules'],
    rank_pattern: pattern('rank_pattern'), alpha_pattern: pattern('alpha_pattern'),
    layers_to_transform: lt as number | number[] | null, layers_pattern: strs('layers_pattern'), exclude_modules: strs('exclude_modules'),
  };
}

/** PEFT's get_pattern_key: the first pattern p (insertion order) with re.match(rf"(.*\.)?({p})$", module). */
export function patternValue(pattern: Record<string, number>, module: string, fallback: number): number {
  for (const [p, v] of Object.entries(pattern)) {
    let re: RegExp;
    try {
      re = new RegExp(`^(.*\\.)?(${p})$`);
    } catch {
      throw new UserError(`adapter_config.json: pattern ${JSON.stringify(p)} is not a valid regular expression`);
    }
    if (re.test(module)) return v;
  }
  return fallback;
}

/** Does PEFT's target_modules select this module? (list: exact or `.name` suffix; string: full regex match) */
export function isTargeted(tm: AdapterConfig['target_modules'], module: string): boolean {
  if (tm === null || tm === 'all-linear') return true;
  if (typeof tm === 'string') {
    try {
      return new RegExp(`^(?:${tm})$`).test(module);
    } catch {
      throw new UserError(`${ADAPTER_CONFIG}: target_modules ${JSON.stringify(tm)} is not a regular expression JavaScript understands`);
    }
  }
  return tm.some((t) => module === t || module.endsWith(`.${t}`));
}

const fullMatch = (re: string, s: string, key: string): boolean => {
  try {
    return new RegExp(`^(?:${re})$`).test(s);
  } catch {
    throw new UserError(`${ADAPTER_CONFIG}: ${key} ${JSON.stringify(re)} is not a regular expression JavaScript understands`);
  }
};

/**
 * Would PEFT put a LoRA layer on this module? Its check_target_module_exists rule: exclude_modules
 * first (a regex string: full match; a list: the name or a `.name` suffix); then target_modules (a regex
 * string: full match, no layer filter; the exact module name: selected; otherwise a `.name` suffix,
 * filtered by layers_to_transform (an index or a non-empty list) with the layer index found after
 * layers_pattern (any `.<word>.<n>.` when unset)).
 */
export function peftSelects(c: AdapterConfig, module: string): boolean {
  const ex = c.exclude_modules;
  if (ex !== null && (typeof ex === 'string' ? ex !== '' && fullMatch(ex, module, 'exclude_modules') : ex.some((e) => module === e || module.endsWith(`.${e}`)))) return false;
  const tm = c.target_modules;
  if (tm === null || typeof tm === 'string') return isTargeted(tm, module);
  if (tm.includes(module)) return true;
  if (!tm.some((t) => module.endsWith(`.${t}`))) return false;
  const lt = c.layers_to_transform;
  if (lt === null || (Array.isArray(lt) && lt.length === 0)) return true;
  const patterns = c.layers_pattern === null || c.layers_pattern.length === 0 ? ['[^.]*'] : typeof c.layers_pattern === 'string' ? [c.layers_pattern] : c.layers_pattern;
  for (const p of patterns) {
    const m = new RegExp(`^.*\\.${p}\\.(\\d+)\\.`).exec(module);
    if (m) return typeof lt === 'number' ? Number(m[1]) === lt : lt.includes(Number(m[1]));
  }
  return false;
}

export function loraScale(alpha: number, r: number, rslora: boolean): number {
  return rslora ? alpha / Math.sqrt(r) : alpha / r;
}

const KEY = /^base_model\.model\.(.+)\.lora_([AB])(?:\.default)?\.weight$/;
const LINEAR = /^(?:model\.)?layers\.(\d+)\.(self_attn|mlp)\.(\w+)$/;

/** Open an adapter directory and check every A/B pair against the base config (no weights read). */
export function openAdapter(dir: string, base: LlamaConfig): Adapter {
  const config = readAdapterConfig(dir);
  const st = path.join(dir, ADAPTER_SAFETENSORS), bin = path.join(dir, ADAPTER_BIN);
  const format = fs.existsSync(st) ? 'safetensors' : fs.existsSync(bin) ? 'bin' : null;
  if (!format) throw new UserError(`no ${ADAPTER_SAFETENSORS} or ${ADAPTER_BIN} in ${dir}`);
  const file = format === 'safetensors' ? st : bin;
  const source: TensorSource = format === 'safetensors' ? SafetensorsFile.open(file) : TorchBinFile.open(file);
  const where = path.basename(file);

  const found = new Map<string, { A?: string; B?: string }>();
  for (const key of source.names()) {
    const m = KEY.exec(key);
    if (!m) {
      const head = /^base_model\.model\.(\w+)\./.exec(key)?.[1];
      if (head && HEAD_MODULES.has(head)) continue; // a saved head (modules_to_save): unused for embeddings
      throw new UserError(`adapter key ${key} in ${where} is not a LoRA A/B weight this loader understands (DoRA/embedding LoRA are not supported)`);
    }
    const [, module, ab] = m;
    const slot = found.get(module) ?? {};
    slot[ab as 'A' | 'B'] = key;
    found.set(module, slot);
  }

  const pairs: LoraPair[] = [];
  for (const [module, { A, B }] of found) {
    if (HEAD_MODULES.has(module)) continue; // LoRA on lm_head: unused by the embedding forward
    const lm = LINEAR.exec(module);
    const proj = lm?.[3] as LinearModule | undefined;
    if (!lm || !LINEAR_MODULES.includes(proj!) || lm[2] !== (['gate_proj', 'up_proj', 'down_proj'].includes(proj!) ? 'mlp' : 'self_attn'))
      throw new UserError(`adapter module ${module} in ${where} is not a LLaMA linear layer (q/k/v/o/gate/up/down_proj); adapter for another architecture?`);
    if (!A || !B) throw new UserError(`adapter module ${module} in ${where} has lora_${A ? 'A' : 'B'} but no lora_${A ? 'B' : 'A'}; the file is incomplete`);
    if (!isTargeted(config.target_modules, module))
      throw new UserError(`adapter module ${module} in ${where} is not selected by target_modules ${JSON.stringify(config.target_modules)} in ${ADAPTER_CONFIG}`);
    // PEFT would not adapt this module, so it would never apply these weights: an inconsistent adapter.
    if (!peftSelects(config, module)) {
      const rule = !peftSelects({ ...config, layers_to_transform: null }, module) ? `exclude_modules ${JSON.stringify(config.exclude_modules)}` : `layers_to_transform ${JSON.stringify(config.layers_to_transform)}${config.layers_pattern ? ` (layers_pattern ${JSON.stringify(config.layers_pattern)})` : ''}`;
      throw new UserError(`adapter module ${module} in ${where} is excluded by ${rule} in ${ADAPTER_CONFIG}, so PEFT would not apply its weights; fix ${ADAPTER_CONFIG} or the adapter file`);
    }
    const layer = Number(lm[1]);
    if (layer >= base.num_hidden_layers)
      throw new UserError(`adapter key ${A} targets layer ${layer} but the base model has ${base.num_hidden_layers} layers; adapter for another model?`);
    const hfModule = linearPath(layer, proj!);
    const r = patternValue(config.rank_pattern, hfModule, config.r);
    const alpha = patternValue(config.alpha_pattern, hfModule, config.lora_alpha);
    const [out, inn] = linearShape(base, proj!);
    const sa = source.shape(A), sb = source.shape(B);
    if (sa.length !== 2 || sb.length !== 2) throw new UserError(`adapter key ${A} / ${B} in ${where} are not 2-D matrices`);
    if (sa[0] !== r) throw new UserError(`adapter key ${A} in ${where} has ${sa[0]} rows but ${ADAPTER_CONFIG} says r=${r}; wrong adapter_config.json?`);
    if (sb[1] !== r) throw new UserError(`adapter key ${B} in ${where} has ${sb[1]} columns but ${ADAPTER_CONFIG} says r=${r}; wrong adapter_config.json?`);
    if (sa[1] !== inn || sb[0] !== out)
      throw new UserError(`adapter key ${sa[1] !== inn ? A : B} in ${where} has shape ${fmtShape(sa[1] !== inn ? sa : sb)} but base ${hfModule}.weight is [${out}, ${inn}]; adapter for another model shape?`);
    pairs.push({ module: hfModule, layer, proj: proj!, keyA: A, keyB: B, r, alpha, scale: loraScale(alpha, r, config.use_rslora) });
  }
  if (!pairs.length) throw new UserError(`${where} in ${dir} holds no LoRA weights for linear layers`);
  pairs.sort((p, q) => p.layer - q.layer || LINEAR_MODULES.indexOf(p.proj) - LINEAR_MODULES.indexOf(q.proj));
  return { dir, format, file, source, config, pairs };
}

/** W [out, in] += scale * B [out, r] @ A [r, in]; each row's update is summed in float64, then added once. */
export function mergeLora(w: Matrix, a: Float32Array, b: Float32Array, r: number, scale: number): void {
  const { rows, cols, data } = w;
  if (a.length !== r * cols || b.length !== rows * r) throw new Error(`mergeLora: A/B sizes do not match [${rows}, ${cols}] with r=${r}`);
  const acc = new Float64Array(cols);
  for (let o = 0; o < rows; o++) {
    acc.fill(0);
    for (let k = 0; k < r; k++) {
      const s = b[o * r + k];
      if (s === 0) continue;
      const base = k * cols;
      for (let j = 0; j < cols; j++) acc[j] += s * a[base + j];
    }
    const row = o * cols;
    for (let j = 0; j < cols; j++) data[row + j] += scale * acc[j];
  }
}


/**
 * What a merge did, for logs and result files. `mergedTensors` counts pairs applied (fewer with maxLayers).
 * `files`: sha256 of adapter_config.json and the weights file (hashed here when not given).
 */
export function loraInfo(ad: Adapter, mergedTensors: number, files?: Record<string, string>): LoraInfo {
  const hashes = files ?? { [ADAPTER_CONFIG]: sha256Stream(path.join(ad.dir, ADAPTER_CONFIG)), [path.basename(ad.file)]: sha256Stream(ad.file) };
  return {
    dir: ad.dir,
    format: ad.format,
    r: ad.config.r,
    lora_alpha: ad.config.lora_alpha,
    use_rslora: ad.config.use_rslora,
    scale: loraScale(ad.config.lora_alpha, ad.config.r, ad.config.use_rslora),
    target_modules: LINEAR_MODULES.filter((m) => ad.pairs.some((p) => p.proj === m)),
    mergedTensors,
    sha256: hashes[path.basename(ad.file)],
    files: hashes,
  };
}

// A Hugging Face checkpoint directory: one model.safetensors, or shards listed in
// model.safetensors.index.json (weight_map: tensor name -> shard file). Headers only; tensors are
// read on demand. Also: the tensor names and shapes a LLaMA-family config implies.
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import { fmtShape, SafetensorsFile, type TensorSource } from './safetensors.ts';
import type { LlamaConfig } from '../arch/types.ts';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** The seven linear modules of a decoder layer, in LayerWeights order. */
export const LINEAR_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LinearModule = (typeof LINEAR_MODULES)[number];

/** HF module path of a linear, e.g. `model.layers.0.self_attn.q_proj` (PEFT keys use the same path). */
export function linearPath(layer: number, m: LinearModule): string {
  const block = m === 'gate_proj' || m === 'up_proj' || m === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${m}`;
}

/** [out, in] of a linear weight as stored (y = x W^T). */
export function linearShape(c: LlamaConfig, m: LinearModule): [number, number] {
  const H = c.hidden_size, F = c.intermediate_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  switch (m) {
    case 'q_proj': return [q, H];
    case 'k_proj': case 'v_proj': return [kv, H];
    case 'o_proj': return [H, q];
    case 'gate_proj': case 'up_proj': return [F, H];
    case 'down_proj': return [H, F];
  }
}

/**
 * The vectors of layer i, by LayerWeights field, with their HF names and lengths; `norm` marks the RMSNorm
 * weights (Gemma stores those as w and applies 1 + w), the others are biases.
 */
export function layerVectors(c: LlamaConfig, i: number): { field: string; name: string; length: number; norm: boolean }[] {
  const a = c.arch, H = c.hidden_size, D = c.head_dim;
  const q = c.num_attention_heads * D, kv = c.num_key_value_heads * D;
  const attn = `model.layers.${i}.self_attn`;
  const norm = (field: string, name: string, length: number) => ({ field, name, length, norm: true });
  const bias = (field: string, name: string, length: number) => ({ field, name, length, norm: false });
  const out = [
    norm('input_layernorm', `model.layers.${i}.input_layernorm.weight`, H),
    norm('post_attention_layernorm', `model.layers.${i}.post_attention_layernorm.weight`, H),
  ];
  if (a.qkv_bias) out.push(bias('q_bias', `${attn}.q_proj.bias`, q), bias('k_bias', `${attn}.k_proj.bias`, kv), bias('v_bias', `${attn}.v_proj.bias`, kv));
  if (a.o_bias) out.push(bias('o_bias', `${attn}.o_proj.bias`, H));
  if (a.qk_norm) out.push(norm('q_norm', `${attn}.q_norm.weight`, D), norm('k_norm', `${attn}.k_norm.weight`, D));
  if (a.sandwich_norms) {
    out.push(norm('pre_feedforward_layernorm', `model.layers.${i}.pre_feedforward_layernorm.weight`, H));
    out.push(norm('post_feedforward_layernorm', `model.layers.${i}.post_feedforward_layernorm.weight`, H));
  }
  return out;
}

/** Every tensor the embedding forward needs for the first `nLayers` layers (lm_head is never needed). */
export function neededTensors(c: LlamaConfig, nLayers = c.num_hidden_layers): { name: string; shape: number[] }[] {
  const H = c.hidden_size;
  const out = [{ name: 'model.embed_tokens.weight', shape: [c.vocab_size, H] }];
  for (let i = 0; i < nLayers; i++) {
    for (const v of layerVectors(c, i)) out.push({ name: v.name, shape: [v.length] });
    for (const m of LINEAR_MODULES) out.push({ name: `${linearPath(i, m)}.weight`, shape: linearShape(c, m) });
  }
  out.push({ name: 'model.norm.weight', shape: [H] });
  return out;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); re-download it`);
  }
}

/** The safetensors files of one checkpoint directory, seen as one tensor source. */
export class Checkpoint implements TensorSource {
  private readonly where = new Map<string, SafetensorsFile>(); // tensor name -> file holding it
  // Identity is the content hash of every file (model-files.ts), never the headers: a retrained
  // checkpoint has the same headers.

  private constructor(readonly path: string, readonly files: SafetensorsFile[]) {
    for (const f of files) for (const n of f.names()) this.where.set(n, f);
  }

  static open(dir: string): Checkpoint {
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new UserError(`model directory ${dir} does not exist`);
    const single = path.join(dir, SINGLE_FILE);
    if (fs.existsSync(single)) return new Checkpoint(dir, [SafetensorsFile.open(single)]);
    const indexFile = path.join(dir, INDEX_FILE);
    if (fs.existsSync(indexFile)) return Checkpoint.openSharded(dir, indexFile);

    const present = fs.readdirSync(dir);
    if (present.some((f) => /^pytorch_model.*\.bin$|^pytorch_model\.bin\.index\.json$/.test(f)))
      throw new UserError(`${dir} has only PyTorch .bin weights; convert them to safetensors first (transformers: model.save_pretrained(out, safe_serialization=True))`);
    const other = present.filter((f) => f.endsWith('.safetensors'));
    throw new UserError(`${dir} has neither ${SINGLE_FILE} nor ${INDEX_FILE}` + (other.length ? ` (found ${other.join(', ')}; not a Hugging Face layout)` : ''));
  }

  private static openSharded(dir: string, indexFile: string): Checkpoint {
    const index = readJson(indexFile) as { weight_map?: Record<string, unknown> };
    const map = index?.weight_map;
    if (!map || typeof map !== 'object') throw new UserError(`${indexFile} has no weight_map; re-download it`);
    const shardNames = [...new Set(Object.values(map))];
    for (const s of shardNames) {
      if (typeof s !== 'string' || s.includes('/') || s.includes('\\')) throw new UserError(`${indexFile}: bad shard name ${JSON.stringify(s)}`);
      if (!fs.existsSync(path.join(dir, s))) throw new UserError(`shard ${s} listed in ${indexFile} is missing; download it`);
    }
    const files = (shardNames as string[]).sort().map((s) => SafetensorsFile.open(path.join(dir, s)));
    const byName = new Map(files.map((f) => [f.name, f]));
    for (const [tensor, shard] of Object.entries(map))
      if (!byName.get(shard as string)!.has(tensor))
        throw new UserError(`${indexFile} puts tensor ${tensor} in ${shard}, but that file does not hold it; re-download the checkpoint`);
    return new Checkpoint(dir, files);
  }

  names(): string[] {
    return [...this.where.keys()];
  }

  /** Stored name for an HF name: checkpoints saved from the bare LlamaModel lack the `model.` prefix. */
  resolve(name: string): string | undefined {
    if (this.where.has(name)) return name;
    const bare = name.replace(/^model\./, '');
    return this.where.has(bare) ? bare : undefined;
  }

  has(name: string): boolean {
    return this.resolve(name) !== undefined;
  }

  /** The file holding a tensor; throws naming the tensor when absent. */
  fileOf(name: string): SafetensorsFile {
    const stored = this.resolve(name);
    if (stored === undefined) throw new UserError(`tensor ${name} is missing from the checkpoint in ${this.path} (${this.files.map((f) => f.name).join(', ')})`);
    return this.where.get(stored)!;
  }

  shape(name: string): number[] {
    return this.fileOf(name).shape(this.resolve(name)!);
  }

  dtype(name: string): string {
    return this.fileOf(name).dtype(this.resolve(name)!);
  }

  read(name: string): Float32Array {
    return this.fileOf(name).read(this.resolve(name)!);
  }

  /** Check presence and shape of every tensor the first `nLayers` layers need, before reading any. */
  validate(c: LlamaConfig, nLayers = c.num_hidden_layers): void {
    // Layers beyond config.json's depth would be dropped silently: the config is not this checkpoint's.
    let deepest = -1;
    for (const n of this.where.keys()) {
      const m = /^(?:model\.)?layers\.(\d+)\./.exec(n);
      if (m) deepest = Math.max(deepest, Number(m[1]));
    }
    if (deepest >= c.num_hidden_layers)
      throw new UserError(`the checkpoint in ${this.path} holds tensors of layer ${deepest} but config.json says num_hidden_layers ${c.num_hidden_layers}; is config.json from another model?`);
    const bad: string[] = [];
    for (const { name, shape } of neededTensors(c, nLayers)) {
      const file = this.fileOf(name);
      const got = file.shape(this.resolve(name)!);
      if (got.length !== shape.length || got.some((d, i) => d !== shape[i]))
        bad.push(`tensor ${name} in ${file.path} has shape ${fmtShape(got)} but config.json implies ${fmtShape(shape)}`);
    }
    if (bad.length) throw new UserError(bad[0] + (bad.length > 1 ? ` (and ${bad.length - 1} more mismatched tensors); is config.json from another model?` : '; is config.json from another model?'));
  }
}

export function openCheckpoint(dir: string): Checkpoint {
  return Checkpoint.open(dir);
}

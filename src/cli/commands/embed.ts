import { createWriteStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { info, notice, progressBar } from '../../experiments/run/progress.ts';
import { openEmbeddingCache } from '../../experiments/results/run-identity.ts';
import { requireBidirectionality } from '../../experiments/run/self-check.ts';
import { provenance } from '../../experiments/run/setup.ts';
import { countTruncated, type RunOptions } from '../../model/embed/embedder.ts';
import { npyFloat32 } from '../../model/formats/npy.ts';
import type { EmbedSettings } from '../../model/presets/presets.ts';
import { pooledPositions, truncationRule } from '../../model/tokenize/template.ts';
import { firstInvalidUtf8Line } from '../../tasks/text.ts';
import { cacheDirOf, checkInputFile, checkOutputFile, preflightModel } from '../options/guards.ts';
import { batchSizeFrom, batchTokensFrom, nLayersFrom, settingsFrom, startIndexFrom, withModelOptions, type ModelArgs } from '../options/model-options.ts';
import { modelSource, openResolved, resolveModel, type ModelSource, type ResolvedModel } from '../options/open-model.ts';
import { COMMANDS } from '../command-list.ts';

interface EmbedArgs extends ModelArgs {
  input: string;
  output: string;
  'billm-start-index'?: number;
  'n-layers'?: number;
  'with-tokens': boolean;
  normalize: boolean;
  overwrite: boolean;
}

export const embedCommand: CommandModule<object, EmbedArgs> = {
  ...COMMANDS.embed,
  builder: (y) => withModelOptions(y, 'bellm-sts')
    .option('input', { type: 'string', demandOption: true, describe: 'UTF-8 text file, one sentence per line (- : standard input)' })
    .option('output', { type: 'string', demandOption: true, describe: 'output file: .jsonl ({"text", "embedding"} per line) or .npy (float32 matrix, one row per input line, in order)' })
    .option('billm-start-index', { type: 'number', describe: 'layers with index >= k attend bidirectionally' })
    .option('n-layers', { type: 'number', describe: 'keep only the first n layers' })
    .option('with-tokens', { type: 'boolean', default: false, describe: 'add "ids" (every input id, BOS/EOS included) and "pooledPositions" (0-based positions pooled) to each line' })
    .option('normalize', {
      type: 'boolean', default: false,
      describe: 'L2-normalize each vector (divided by its Euclidean norm in float64, written as float32), so dot products are cosines; a zero vector stays zero. Recorded in OUTPUT.provenance.json',
    })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing --output and its OUTPUT.provenance.json (never the --input itself)' }) as never,
  handler: async (a) => executeEmbed(await embedSpec(a)),
};

/**
 * An `embed` run as the arguments ask for it, checked before the weights load: the door's one
 * conversion of the parsed arguments. Everything after it reads this.
 */
export interface EmbedSpec {
  quiet: boolean;
  input: string;
  sentences: string[];
  output: string;
  format: 'jsonl' | 'npy';
  withTokens: boolean;
  /** L2-normalize each vector before writing (l2Normalize). */
  normalize: boolean;
  settings: EmbedSettings & { preset: string };
  source: ModelSource;
  model: ResolvedModel;
  billmStartIndex: number | null;
  nLayers: number | null;
  batchTokens?: number;
  batchSize: number;
  cacheDir: string | null;
}

/** Everything that can be checked without the weights: output format, input file, settings, model, layers. */
export async function embedSpec(a: EmbedArgs): Promise<EmbedSpec> {
  const format = outputFormat(a.output);
  if (a['with-tokens'] && format !== 'jsonl') throw new UserError(`--with-tokens writes "ids" and "pooledPositions" into JSONL lines: name a .jsonl --output, not ${a.output}`);
  checkInputFile(a.input, '--input');
  const sentences = readSentences(a.input);
  const settings = settingsFrom(a);
  const source = modelSource(a);
  const model = await resolveModel(source, settings.mask);
  const cacheDir = cacheDirOf(a);
  const cfg = preflightModel(model.modelDir, { cacheDir, batchTokens: a['batch-tokens'], batchSize: a['batch-size'] }, settings);
  const L = cfg.num_hidden_layers;
  const billmStartIndex = startIndexFrom(a['billm-start-index'], L, a.preset, cfg.arch.bidirectional), nLayers = nLayersFrom(a['n-layers'], L);
  checkOutputFile(a.output, '--output');
  checkNotInput(a.input, a.output);
  checkNotInput(a.input, provenanceFile(a.output));
  if (!a.overwrite && existsSync(a.output)) throw new UserError(`--output ${a.output} exists: pass --overwrite to replace it, or another --output`);
  if (!a.overwrite && existsSync(provenanceFile(a.output))) {
    throw new UserError(`--output ${a.output}: its provenance file ${provenanceFile(a.output)} exists (from an earlier run): pass --overwrite to replace both, or another --output`);
  }
  const batchSize = batchSizeFrom(a['batch-size'], settings.mask, (l) => info(a.quiet, l), a.preset);
  return {
    quiet: a.quiet, input: a.input, sentences, output: a.output, format, withTokens: a['with-tokens'], normalize: a.normalize, settings, source, model,
    billmStartIndex, nLayers, ...(a['batch-tokens'] !== undefined ? { batchTokens: a['batch-tokens'] } : {}), batchSize, cacheDir,
  };
}

/** The embeddings of the spec's sentences, written atomically to its output. */
export async function executeEmbed(spec: EmbedSpec): Promise<void> {
  const { sentences, settings, billmStartIndex, nLayers } = spec;
  const t0 = performance.now();
  const { embedder, batchTokens } = openResolved(spec.model, spec.source);
  requireBidirectionality(embedder, { from: billmStartIndex, layers: nLayers, quiet: spec.quiet });
  const encoded = embedder.encode(sentences, settings); // template errors before the long work; reused by embed
  const truncated = countTruncated(encoded);
  if (truncated) info(spec.quiet, `${truncated} of ${sentences.length} inputs were truncated (${truncationRule(settings.tokenize ?? 'whole', settings.maxLength, embedder.tokenizer.bosId !== null)})`);
  const bar = progressBar('embedding', spec.quiet);
  const run: RunOptions = {
    ...settings, billmStartIndex, nLayers, batchTokens: batchTokensFrom(spec.batchTokens, batchTokens),
    batchSize: spec.batchSize, onProgress: (d, n) => bar.update(d, n),
  };
  run.cache = openEmbeddingCache(embedder, run, spec.cacheDir, notice);
  const raw = embedder.embed(sentences, run);
  bar.stop();
  const vecs = spec.normalize ? l2Normalize(raw) : raw;
  // Written to a temp file and renamed: a failed write never leaves a partial output behind.
  const tmp = `${spec.output}.tmp`;
  const meta = provenanceFile(spec.output), metaTmp = `${meta}.tmp`;
  try {
    if (spec.format === 'npy') {
      writeFileSync(tmp, npyFloat32(vecs, embedder.dim));
    } else {
      const out = createWriteStream(tmp);
      const failed = new Promise<never>((_, rej) => out.on('error', rej));
      sentences.forEach((s, i) => {
        const tokens = spec.withTokens ? { ids: encoded[i].ids, pooledPositions: pooledPositions(encoded[i], settings.pooling) } : {};
        out.write(`${JSON.stringify({ text: s, embedding: Array.from(vecs[i]), ...tokens })}\n`);
      });
      await Promise.race([failed, new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())))]);
    }
    writeFileSync(metaTmp, `${JSON.stringify(embedProvenance(spec, embedder, vecs.length), null, 1)}\n`);
    renameSync(tmp, spec.output);
    renameSync(metaTmp, meta);
    info(spec.quiet, `wrote ${spec.output}: ${vecs.length} rows x ${embedder.dim} dimensions (${spec.format === 'npy' ? 'float32 .npy' : 'JSONL'}${spec.normalize ? ', L2-normalized' : ''}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    info(spec.quiet, `settings and provenance: ${meta}`);
  } catch (e) {
    rmSync(tmp, { force: true });
    rmSync(metaTmp, { force: true });
    throw new UserError(`--output ${spec.output}: writing failed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); free space or pass another path`);
  }
}

/** Where `embed` records how an output was made: OUTPUT.provenance.json beside it. */
export const provenanceFile = (output: string): string => `${output}.provenance.json`;

/**
 * Each vector divided by its Euclidean (L2) norm: the sum of squares and the division in float64, each
 * result rounded once to float32. A zero vector stays zero (it has no direction); new arrays, the
 * input is not changed.
 */
export function l2Normalize(vecs: readonly Float32Array[]): Float32Array[] {
  return vecs.map((v) => {
    let sq = 0;
    for (let i = 0; i < v.length; i++) sq += v[i] * v[i];
    const norm = Math.sqrt(sq);
    const out = new Float32Array(v.length);
    if (norm > 0) for (let i = 0; i < v.length; i++) out[i] = v[i] / norm;
    return out;
  });
}

/** The provenance file's contents: the output, the settings it was made with (normalize among them), the model. */
function embedProvenance(spec: EmbedSpec, embedder: Parameters<typeof provenance>[0], rows: number): unknown {
  return {
    tool: 'bellm-bench embed',
    output: resolve(spec.output),
    format: spec.format,
    rows,
    dimensions: embedder.dim,
    dtype: 'float32',
    input: spec.input === '-' ? '(standard input)' : resolve(spec.input),
    normalize: spec.normalize,
    normalization: spec.normalize ? 'L2: each vector divided by its Euclidean norm (float64), rounded to float32; a zero vector stays zero' : null,
    settings: { ...spec.settings, billmStartIndex: spec.billmStartIndex, nLayers: spec.nLayers },
    provenance: { ...provenance(embedder, '.', [], {}), data: undefined },
  };
}

/** The output format from the file's extension, checked before the model loads. */
export function outputFormat(path: string): 'jsonl' | 'npy' {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl') return 'jsonl';
  if (ext === '.npy') return 'npy';
  throw new UserError(`--output ${path}: name a .jsonl file ({"text", "embedding"} per line) or a .npy file (float32, one row per sentence)`);
}

/** --output naming the --input file itself (by path or through a link): it would be replaced by its own embeddings. */
function checkNotInput(input: string, output: string): void {
  if (input === '-') return;
  let same = resolve(input) === resolve(output);
  try {
    const i = statSync(input), o = statSync(output);
    same ||= i.dev === o.dev && i.ino === o.ino;
  } catch {
    // no output yet: only the path can match
  }
  if (same) throw new UserError(`--output ${output} is the --input file: name another output file`);
}

/**
 * One sentence per line of a strict UTF-8 file (\n or \r\n); invalid bytes are refused, naming the line.
 * A UTF-8 byte order mark at the start is dropped, as Python's "utf-8-sig" and most editors do: kept,
 * it would become tokens of the first sentence.
 */
export function readSentences(file: string): string[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    throw new UserError(`--input ${file}: cannot read the input file (${(e as NodeJS.ErrnoException).code ?? 'error'}); one sentence per line expected`);
  }
  const line = firstInvalidUtf8Line(bytes);
  if (line > 0) throw new UserError(`${file}:${line}: not valid UTF-8; save the file as UTF-8 (one sentence per line)`);
  const text = bytes.toString('utf8');
  const sentences = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r?\n/);
  if (sentences.at(-1) === '') sentences.pop();
  return sentences;
}

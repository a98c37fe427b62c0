import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';
import { info, progressBar } from '../experiments/progress.ts';
import { openEmbedder } from '../experiments/setup.ts';
import { npyFloat32 } from '../model/npy.ts';
import { batchSizeFrom, batchTokensFrom, nLayersFrom, settingsFrom, startIndexFrom, withModelOptions, type ModelArgs } from './model-options.ts';

interface EmbedArgs extends ModelArgs {
  input: string;
  output: string;
  'billm-start-index'?: number;
  'n-layers'?: number;
}

export const embedCommand: CommandModule<object, EmbedArgs> = {
  command: 'embed',
  describe: 'embed one sentence per line of --input into JSONL ({"text", "embedding"} per line) or .npy (float32, one row per line)',
  builder: (y) => withModelOptions(y, 'bellm-sts')
    .option('input', { type: 'string', demandOption: true, describe: 'UTF-8 text file, one sentence per line' })
    .option('output', { type: 'string', demandOption: true, describe: 'output file: .jsonl ({"text", "embedding"} per line) or .npy (float32 matrix, one row per input line, in order)' })
    .option('billm-start-index', { type: 'number', describe: 'layers with index >= k attend bidirectionally' })
    .option('n-layers', { type: 'number', describe: 'keep only the first n layers' }) as never,
  handler: async (a) => {
    const format = outputFormat(a.output);
    let text: string;
    try {
      text = readFileSync(a.input, 'utf8');
    } catch {
      throw new UserError(`${a.input}: cannot read the input file (one sentence per line expected)`);
    }
    const sentences = text.split(/\r?\n/);
    if (sentences.at(-1) === '') sentences.pop();
    const settings = settingsFrom(a);
    const { embedder, batchTokens } = openEmbedder({ model: a.model, lora: a.lora, device: a.device, quiet: a.quiet });
    const L = embedder.decoder.numLayers;
    const bar = progressBar('embedding', a.quiet);
    const vecs = embedder.embed(sentences, {
      ...settings, billmStartIndex: startIndexFrom(a['billm-start-index'], L), nLayers: nLayersFrom(a['n-layers'], L),
      cacheDir: a.cache ? a['cache-dir'] : null, batchTokens: batchTokensFrom(a['batch-tokens'], batchTokens),
      batchSize: batchSizeFrom(a['batch-size'], settings.mask, (l) => info(a.quiet, l)), onProgress: (d, n) => bar.update(d, n),
    });
    bar.stop();
    if (format === 'npy') {
      writeFileSync(a.output, npyFloat32(vecs, embedder.dim));
      return;
    }
    const out = createWriteStream(a.output);
    sentences.forEach((s, i) => out.write(`${JSON.stringify({ text: s, embedding: Array.from(vecs[i]) })}\n`));
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  },
};

/** The output format from the file's extension, checked before the model loads. */
export function outputFormat(path: string): 'jsonl' | 'npy' {
  const ext = extname(path).toLowerCase();
  if (ext === '.jsonl') return 'jsonl';
  if (ext === '.npy') return 'npy';
  throw new UserError(`--output ${path}: name a .jsonl file ({"text", "embedding"} per line) or a .npy file (float32, one row per sentence)`);
}

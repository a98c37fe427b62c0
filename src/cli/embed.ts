import { createWriteStream, readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';
import { progressBar } from '../experiments/progress.ts';
import { openEmbedder } from '../experiments/setup.ts';
import { openEmbeddingCache } from '../experiments/run-identity.ts';
import { notice } from '../experiments/progress.ts';
import type { RunOptions } from '../model/embedder.ts';
import { batchTokensFrom, nLayersFrom, settingsFrom, startIndexFrom, withModelOptions, type ModelArgs } from './model-options.ts';

interface EmbedArgs extends ModelArgs {
  input: string;
  output: string;
  'billm-start-index'?: number;
  'n-layers'?: number;
}

export const embedCommand: CommandModule<object, EmbedArgs> = {
  command: 'embed',
  describe: 'embed one sentence per line of --input into JSONL ({"text", "embedding"} per line)',
  builder: (y) => withModelOptions(y, 'bellm-sts')
    .option('input', { type: 'string', demandOption: true, describe: 'UTF-8 text file, one sentence per line' })
    .option('output', { type: 'string', demandOption: true, describe: 'JSONL output file' })
    .option('billm-start-index', { type: 'number', describe: 'layers with index >= k attend bidirectionally' })
    .option('n-layers', { type: 'number', describe: 'keep only the first n layers' }) as never,
  handler: async (a) => {
    let text: string;
    try {
      text = readFileSync(a.input, 'utf8');
    } catch {
      throw new UserError(`${a.input}: cannot read the input file (one sentence per line expected)`);
    }
    const sentences = text.split(/\r?\n/);
    if (sentences.at(-1) === '') sentences.pop();
    const settings = settingsFrom(a);
    const { embedder, batchTokens } = openEmbedder({ model: a.model, lora: a.lora, device: a.device, quiet: a.quiet, verifyWeights: a['verify-weights'] });
    const L = embedder.decoder.numLayers;
    const bar = progressBar('embedding', a.quiet);
    const run: RunOptions = {
      ...settings, billmStartIndex: startIndexFrom(a['billm-start-index'], L), nLayers: nLayersFrom(a['n-layers'], L),
      batchTokens: batchTokensFrom(a['batch-tokens'], batchTokens), batchSize: a['batch-size'], onProgress: (d, n) => bar.update(d, n),
    };
    run.cache = openEmbeddingCache(embedder, run, a.cache ? a['cache-dir'] : null, notice);
    const vecs = embedder.embed(sentences, run);
    bar.stop();
    const out = createWriteStream(a.output);
    sentences.forEach((s, i) => out.write(`${JSON.stringify({ text: s, embedding: Array.from(vecs[i]) })}\n`));
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  },
};

import { createWriteStream, readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';
import { progressBar } from '../experiments/progress.ts';
import { requireBidirectionality } from '../experiments/self-check.ts';
import { openModel } from './open-model.ts';
import { batchSizeFrom, batchTokensFrom, nLayersFrom, settingsFrom, startIndexArg, startIndexFrom, withModelOptions, type ModelArgs } from './model-options.ts';

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
    const { embedder, batchTokens } = await openModel(a, settings.mask);
    const L = embedder.decoder.numLayers;
    const billmStartIndex = startIndexFrom(startIndexArg(a, L), L);
    const nLayers = nLayersFrom(a['n-layers'], L);
    requireBidirectionality(embedder, { from: billmStartIndex, layers: nLayers, quiet: a.quiet });
    const bar = progressBar('embedding', a.quiet);
    const vecs = embedder.embed(sentences, {
      ...settings, billmStartIndex, nLayers,
      cacheDir: a.cache ? a['cache-dir'] : null, batchTokens: batchTokensFrom(a['batch-tokens'], batchTokens),
      batchSize: batchSizeFrom(a), onProgress: (d, n) => bar.update(d, n),
    });
    bar.stop();
    const out = createWriteStream(a.output);
    sentences.forEach((s, i) => out.write(`${JSON.stringify({ text: s, embedding: Array.from(vecs[i]) })}\n`));
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  },
};

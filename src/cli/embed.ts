import { createWriteStream, readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';
import { UserError } from '../errors.ts';
import { progressBar } from '../experiments/progress.ts';
import { openEmbedder } from '../experiments/setup.ts';
import { countTruncated } from '../model/embedder.ts';
import { pooledPositions, truncationRule } from '../model/template.ts';
import { info } from '../experiments/progress.ts';
import { batchTokensFrom, nLayersFrom, settingsFrom, startIndexFrom, withModelOptions, type ModelArgs } from './model-options.ts';

interface EmbedArgs extends ModelArgs {
  input: string;
  output: string;
  'billm-start-index'?: number;
  'n-layers'?: number;
  'with-tokens': boolean;
}

export const embedCommand: CommandModule<object, EmbedArgs> = {
  command: 'embed',
  describe: 'embed one sentence per line of --input into JSONL ({"text", "embedding"} per line; --with-tokens adds "ids" and "pooledPositions")',
  builder: (y) => withModelOptions(y, 'bellm-sts')
    .option('input', { type: 'string', demandOption: true, describe: 'UTF-8 text file, one sentence per line' })
    .option('output', { type: 'string', demandOption: true, describe: 'JSONL output file' })
    .option('billm-start-index', { type: 'number', describe: 'layers with index >= k attend bidirectionally' })
    .option('n-layers', { type: 'number', describe: 'keep only the first n layers' })
    .option('with-tokens', { type: 'boolean', default: false, describe: 'add "ids" (every input id, BOS/EOS included) and "pooledPositions" (0-based positions pooled) to each line' }) as never,
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
    const { embedder, batchTokens } = openEmbedder({ model: a.model, lora: a.lora, device: a.device, quiet: a.quiet });
    const L = embedder.decoder.numLayers;
    const encoded = embedder.encode(sentences, settings); // template errors before the long work; reused by embed
    const truncated = countTruncated(encoded);
    if (truncated) info(a.quiet, `${truncated} of ${sentences.length} inputs were truncated (${truncationRule(settings.tokenize ?? 'whole', settings.maxLength)})`);
    const bar = progressBar('embedding', a.quiet);
    const vecs = embedder.embed(sentences, {
      ...settings, billmStartIndex: startIndexFrom(a['billm-start-index'], L, a.preset), nLayers: nLayersFrom(a['n-layers'], L),
      cacheDir: a.cache ? a['cache-dir'] : null, batchTokens: batchTokensFrom(a['batch-tokens'], batchTokens),
      batchSize: a['batch-size'], onProgress: (d, n) => bar.update(d, n),
    });
    bar.stop();
    const out = createWriteStream(a.output);
    sentences.forEach((s, i) => {
      const tokens = a['with-tokens'] ? { ids: encoded[i].ids, pooledPositions: pooledPositions(encoded[i], settings.pooling) } : {};
      out.write(`${JSON.stringify({ text: s, embedding: Array.from(vecs[i]), ...tokens })}\n`);
    });
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
  },
};

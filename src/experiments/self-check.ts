// Runs the bidirectionality self-check (src/model/bidirectional-check.ts) before a run with
// bidirectional layers, stops the run with one line when it fails, and returns it for the results.
import { UserError } from '../errors.ts';
import { checkBidirectionality, type BidirectionalCheck } from '../model/bidirectional-check.ts';
import type { Embedder } from '../model/embedder.ts';
import { info } from './progress.ts';

/** `from`: the first layer that will run bidirectionally (null: none); `layers`: layers run (null: all). */
export function requireBidirectionality(e: Embedder, o: { from: number | null; layers: number | null; quiet: boolean }): BidirectionalCheck | null {
  const n = e.decoder.resolveLayers(o.layers);
  if (o.from === null || o.from >= n) return null;
  const c = checkBidirectionality(e.decoder, e.tokenizer, { bidirectionalFrom: o.from, layers: n });
  if (!c.passed) {
    throw new UserError(`bidirectionality self-check failed on ${c.backend}: ${c.failures[0]}` +
      `${c.failures.length > 1 ? ` (${c.failures.length - 1} more layers fail too)` : ''}; nothing was embedded`);
  }
  const bi = c.bidirectionalLeak.filter((x): x is number => x !== null);
  info(o.quiet, `bidirectionality self-check passed on ${c.backend}: layers ${o.from}..${n - 1} see later tokens ` +
    `(smallest relative change ${Math.min(...bi).toExponential(1)}), causal layers do not (largest ${Math.max(...c.causalLeak).toExponential(1)})`);
  return c;
}

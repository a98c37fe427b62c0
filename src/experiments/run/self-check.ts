// Runs the bidirectionality self-check (src/model/arch/bidirectional-check.ts) before a run with
// bidirectional layers, stops the run with one line when it fails, and returns it for the results.
import { UserError } from '../../errors.ts';
import { checkBidirectionality, checkMargins, type BidirectionalCheck } from '../../model/arch/bidirectional-check.ts';
import type { Embedder } from '../../model/embed/embedder.ts';
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
  const m = checkMargins(c);
  info(o.quiet, `bidirectionality self-check passed on ${c.backend}: layers ${o.from}..${n - 1} see later tokens ` +
    `(smallest change ${m.smallestBidirectional.toExponential(1)}, ${m.bidirectionalOverLimit.toFixed(0)}x its limit), causal layers do not ` +
    `(largest leak ${m.largestCausal.toExponential(1)}, noise floor up to ${m.largestFloor.toExponential(1)})`);
  return c;
}

// Intermediate tensors of one computation. Code frees them as early as it can (peak memory); when an
// op throws, whatever is still live is freed on the way out, so a failed batch does not leak device
// memory into the next one (a long sweep would otherwise run out of GPU memory after a few errors).
import type { Act, Backend } from './ops.ts';

export class TensorScope {
  private readonly live = new Set<Act>();

  constructor(private readonly backend: Backend) {}

  /** Tracks `x` until it is freed or kept. */
  add<T extends Act>(x: T): T {
    this.live.add(x);
    return x;
  }

  free(x: Act): void {
    this.live.delete(x);
    this.backend.free(x);
  }

  /** Stops tracking `x`: the caller owns it now. */
  keep<T extends Act>(x: T): T {
    this.live.delete(x);
    return x;
  }

  /** Frees every tracked tensor. After an error (`quiet`), a failing free is ignored: the first error is the one to report. */
  release(quiet: boolean): void {
    const all = [...this.live];
    this.live.clear();
    for (const x of all) {
      try {
        this.backend.free(x);
      } catch (e) {
        if (!quiet) throw e;
      }
    }
  }
}

/** Runs `body` with a scope; on return or throw, tensors still tracked are freed. */
export function withScope<T>(backend: Backend, body: (s: TensorScope) => T): T {
  const s = new TensorScope(backend);
  let out: T;
  try {
    out = body(s);
  } catch (e) {
    s.release(true);
    throw e;
  }
  s.release(false);
  return out;
}

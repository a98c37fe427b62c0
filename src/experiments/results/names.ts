// Where results files go. A default name is a readable stem plus a short hash of everything that makes
// the file what it is (model and adapter, tasks, split, the whole resolved settings object as recorded,
// and the options that change the file's other contents), so two runs whose settings differ never
// share a default name and never replace each other. An explicit --out that exists is refused unless
// --overwrite is given (a degrade sweep resumes its own file by its own rules instead).
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../../errors.ts';
import type { Split } from '../../tasks/split.ts';
import { shortHash } from './identity.ts';
import type { StsResults } from './results.ts';

export interface ResultsIdentity {
  kind: 'sts' | 'degrade';
  /** modelRef() of the model: an absolute path for a local folder, the id as given otherwise. */
  model: string;
  adapter: string | null;
  /** Registry names, in table order. */
  tasks: readonly string[];
  split: Split;
  /**
   * The whole resolved settings object, as the results file records it: fields that other options add
   * to it later are covered without touching this module.
   */
  settings: unknown;
  /** Anything else that changes the file: sweep mode and layers, sentence-statistic options, device. */
  extra?: Record<string, unknown>;
}

/** A local folder as its absolute path (the same model named two ways gets one name); a Hub id as given. */
export function modelRef(p: string): string {
  return existsSync(p) ? resolve(p) : p;
}

/** The device part of the identity: CUDA precisions change the numbers, CPU builds only in the last bits. */
export function deviceKind(backendName: string): string {
  return backendName.startsWith('cuda') ? backendName : 'cpu';
}

/** The readable part of a name: the parts joined with '+', characters unsafe in file names replaced. */
export function resultsStem(parts: readonly (string | null | undefined | false)[]): string {
  return parts.filter((p): p is string => typeof p === 'string' && p !== '')
    .map((p) => basename(p.replace(/[\\/]+$/, '')))
    .join('+').replace(/[^\w.+=-]+/g, '_');
}

/** The 8-hex-digit hash in a default name (identity.ts shortHash of the identity's canonical JSON). */
export const resultsHash = (id: ResultsIdentity): string => shortHash(id);

/**
 * `<dir>/<kind>-<stem>-<hash>.json`; a shard of a sweep adds `.shard<i>of<n>` to the same stem and
 * hash, so every shard of one sweep is recognisably the same sweep.
 */
export function defaultResultsPath(id: ResultsIdentity, stem: string, opts: { dir?: string; shard?: { index: number; count: number } | null } = {}): string {
  const shard = opts.shard ? `.shard${opts.shard.index}of${opts.shard.count}` : '';
  return join(opts.dir ?? 'reports', `${id.kind}-${stem}-${resultsHash(id)}${shard}.json`);
}

/**
 * The default results file of a finished sts run: identity from what the file records (its resolved
 * settings, tasks and split) plus the model and adapter as given and the options in `extra`.
 */
export function stsDefaultPath(r: StsResults, o: {
  model: string; adapter?: string | null; backend: string; extra?: Record<string, unknown>; dir?: string;
  /** A readable last part of the stem (the preset's name when `sts --preset a,b,c` writes several files). */
  tag?: string;
  /** The resolved settings as given to the run (settingsFrom), merged under the recorded ones. */
  resolved?: object;
}): string {
  const split = r.split ?? 'test';
  const id: ResultsIdentity = {
    kind: 'sts', model: modelRef(o.model), adapter: o.adapter ? modelRef(o.adapter) : null, tasks: r.tasks.map((t) => t.task), split,
    settings: { ...o.resolved, ...r.settings }, extra: { device: deviceKind(o.backend), ...o.extra },
  };
  const s = r.settings;
  const stem = resultsStem([o.model, o.adapter, s.billmStartIndex !== null && `k${s.billmStartIndex}`, s.nLayers !== null && `n${s.nLayers}`, split !== 'test' && split, o.tag]);
  return defaultResultsPath(id, stem, { dir: o.dir });
}

/**
 * The default results file of a degrade sweep, known before it starts (a restart finds it and resumes):
 * the resolved settings as given to the sweep, its mode and every k of the whole sweep (so all shards
 * of one sweep share the hash), plus the shard suffix.
 */
export function degradeDefaultPath(o: {
  model: string; adapter?: string | null; backend: string; tasks: readonly string[]; split: Split; settings: unknown;
  mode: string; layers: readonly number[]; shard?: { index: number; count: number } | null; dir?: string;
}): string {
  const id: ResultsIdentity = {
    kind: 'degrade', model: modelRef(o.model), adapter: o.adapter ? modelRef(o.adapter) : null, tasks: o.tasks, split: o.split,
    settings: o.settings, extra: { device: deviceKind(o.backend), mode: o.mode, layers: o.layers },
  };
  const stem = resultsStem([o.model, o.adapter, o.mode, o.split !== 'test' && o.split]);
  return defaultResultsPath(id, stem, { dir: o.dir, shard: o.shard });
}

/** Refuse an explicit output file that exists, before any long work, unless --overwrite was given. */
export function checkExplicitOut(path: string, overwrite: boolean): void {
  if (!overwrite && existsSync(path)) {
    throw new UserError(`--out ${path} exists: pass --overwrite to replace it, or another --out (without --out the name is chosen from the settings)`);
  }
}

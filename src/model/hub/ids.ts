// Hugging Face repository ids as users write them: `org/name`, `org/name@revision`.
import { UserError } from '../../errors.ts';

export interface HubSpec {
  id: string;          // org/name
  revision: string;    // branch, tag or 40-hex commit (default main)
}

// huggingface_hub's validate_repo_id: [\w.-] names, no '--' or '..', at most 96 characters.
const NAME = /^[\w.-]+$/;

/** True when `s` has the shape of a Hub id (org/name, optionally @revision). */
export function looksLikeHubId(s: string): boolean {
  const at = s.indexOf('@');
  const id = at >= 0 ? s.slice(0, at) : s;
  const parts = id.split('/');
  return parts.length === 2 && parts.every((p) => NAME.test(p) && !p.startsWith('.'));
}

/** org/name[@rev] with an optional --revision (they must agree when both are given). */
export function parseHubSpec(s: string, revisionFlag: string | undefined, flag: string): HubSpec {
  const at = s.indexOf('@');
  const id = at >= 0 ? s.slice(0, at) : s;
  const inline = at >= 0 ? s.slice(at + 1) : undefined;
  if (!looksLikeHubId(s) || id.length > 96 || id.includes('--') || id.includes('..')) {
    throw new UserError(`${flag} ${s}: not a directory, and not a Hugging Face id (org/name or org/name@revision)`);
  }
  if (inline !== undefined && inline.trim() === '') throw new UserError(`${flag} ${s}: empty revision after @`);
  if (inline !== undefined && revisionFlag !== undefined && inline !== revisionFlag) {
    throw new UserError(`${flag} ${s} names revision ${inline} but --${flag === '--model' ? 'revision' : 'lora-revision'} says ${revisionFlag}: give one`);
  }
  const revision = inline ?? revisionFlag ?? 'main';
  if (revision.includes('..') || revision.startsWith('/') || /[\s\\]/.test(revision)) throw new UserError(`${flag}: bad revision ${JSON.stringify(revision)}`);
  return { id, revision };
}

export const isCommitHash = (rev: string): boolean => /^[0-9a-f]{40}$/.test(rev);

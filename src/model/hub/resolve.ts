// --model / --lora: a directory, or a Hugging Face id resolved to a snapshot folder of the hub cache
// before any long work. The local cache first (no network when the revision's files are all there);
// else, unless HF_HUB_OFFLINE is set, only the files the embedding needs are downloaded into the
// cache, in huggingface_hub's layout (cache.ts) so Python tools reuse them.
//   model:   config.json, model.safetensors or model.safetensors.index.json and its shards,
//            tokenizer.model / tokenizer.json / tokenizer_config.json / special_tokens_map.json /
//            added_tokens.json (those the repo has)
//   adapter: adapter_config.json, adapter_model.safetensors (else adapter_model.bin)
// We use @huggingface/hub for the cache folder names only: its downloadFileToCacheDir files a snapshot
// under the commit that last changed each file rather than the revision's commit, writes no refs/,
// cannot resume a partial file and reports no progress (README, "Hugging Face ids and the hub cache").
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../../errors.ts';
import type { HubRef } from '../arch/types.ts';
import { blobPath, checkHubHash, hubEnv, hubHashOf, linkIntoSnapshot, readRef, repoFolder, snapshotDir, writeRef, type HubEnv } from './cache.ts';
import { HubClient, HubUnreachable, type ProgressFactory } from './http.ts';
import { isCommitHash, looksLikeHubId, parseHubSpec } from './ids.ts';

export type SourceKind = 'model' | 'adapter';

export interface ResolveOptions {
  kind: SourceKind;
  /** The flag named in errors: '--model' or '--lora'. */
  flag: string;
  /** --revision / --lora-revision. */
  revision?: string;
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  progress?: ProgressFactory;
  log?: (msg: string) => void;
}

export interface ResolvedSource {
  dir: string;
  hub: HubRef | null;
}

const TOKENIZER_FILES = ['tokenizer.model', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json'];
const INDEX = 'model.safetensors.index.json';

/**
 * The files a model or adapter needs, given which files exist (`has`) and, for a sharded checkpoint,
 * the shard names of its index (`shards`, called only then). Throws for a repo with only .bin weights.
 */
export function neededFiles(kind: SourceKind, has: (f: string) => boolean, shards: () => string[], where: string): { required: string[]; optional: string[] } {
  if (kind === 'adapter') {
    const weights = has('adapter_model.safetensors') ? 'adapter_model.safetensors' : has('adapter_model.bin') ? 'adapter_model.bin' : 'adapter_model.safetensors';
    return { required: ['adapter_config.json', weights], optional: [] };
  }
  const required = ['config.json'];
  if (has(INDEX)) required.push(INDEX, ...shards());
  else if (has('model.safetensors')) required.push('model.safetensors');
  else if (binOnly(has)) {
    throw new UserError(`${where} has only PyTorch .bin weights (pytorch_model*.bin), no model.safetensors: converting them is your step ` +
      '(transformers: AutoModelForCausalLM.from_pretrained(...).save_pretrained(out, safe_serialization=True)); then pass that directory');
  } else required.push('model.safetensors');
  const tok = TOKENIZER_FILES.filter(has);
  if (!has('tokenizer.model') && !has('tokenizer.json')) required.push('tokenizer.json');
  return { required, optional: tok };
}

const binOnly = (has: (f: string) => boolean): boolean => has('pytorch_model.bin') || has('pytorch_model.bin.index.json');

function shardsOfIndex(file: string): string[] {
  let index: { weight_map?: Record<string, unknown> };
  try {
    index = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); delete it from the hub cache and run again`);
  }
  const names = [...new Set(Object.values(index.weight_map ?? {}))];
  if (!names.length || names.some((n) => typeof n !== 'string' || n.includes('..') || n.startsWith('/'))) {
    throw new UserError(`${file} has no usable weight_map; delete it from the hub cache and run again`);
  }
  return names as string[];
}

interface CacheLook {
  commit: string | null;
  dir: string | null;
  missing: string[];     // what is not there (for messages)
  used: string[];        // the files the run reads (required, and the optional ones present)
}

/** What the cache holds for id@revision: the snapshot folder when every needed file is there. */
function lookInCache(storage: string, revision: string, kind: SourceKind, where: string): CacheLook {
  const commit = isCommitHash(revision) ? revision : readRef(storage, revision);
  if (!commit) {
    const ref = path.join(storage, 'refs', revision);
    const damaged = !isCommitHash(revision) && fs.existsSync(ref);
    return { commit: null, dir: null, missing: [damaged ? `refs/${revision} holds no commit hash (damaged; a download rewrites it)` : `refs/${revision}`], used: [] };
  }
  const dir = snapshotDir(storage, commit);
  const has = (f: string): boolean => fs.existsSync(path.join(dir, f));   // follows the symlink to its blob
  if (!fs.existsSync(dir)) return { commit, dir: null, missing: [`snapshots/${commit}`], used: [] };
  const { required, optional } = neededFiles(kind, has, () => shardsOfIndex(path.join(dir, INDEX)), where);
  const missing = required.filter((f) => !has(f));
  return { commit, dir: missing.length ? null : dir, missing, used: [...new Set([...required, ...optional])].sort() };
}

/** id, revision, commit and the Hub's hash of each file the run reads (the blob it links to). */
function hubRecord(id: string, revision: string, look: CacheLook, env: HubEnv): HubRef {
  const files = Object.fromEntries(look.used.map((f) => [f, hubHashOf(path.join(look.dir!, f)) ?? 'unknown (not a link into blobs/)']));
  return { id, revision, commit: look.commit!, endpoint: env.endpoint, files };
}

function fetchCommand(id: string, revision: string, kind: SourceKind): string {
  const include = kind === 'adapter' ? '"adapter_*"' : '"*.json" "*.safetensors" "tokenizer.model"';
  return `hf download ${id} --revision ${revision} --include ${include}`;
}

/** A Hub id whose files are not in the hub cache while downloads are off (HF_HUB_OFFLINE, or an offline check). */
export class NotInHubCache extends UserError {
  override name = 'NotInHubCache';
}

/** A directory as it is, or a Hub id resolved (and if needed downloaded) to its snapshot folder. */
export async function resolveSource(spec: string, o: ResolveOptions): Promise<ResolvedSource> {
  if (fs.existsSync(spec) && fs.statSync(spec).isDirectory()) {
    if (o.revision !== undefined) throw new UserError(`${o.flag} ${spec} is a directory: ${o.flag === '--model' ? '--revision' : '--lora-revision'} applies to Hugging Face ids only`);
    return { dir: spec, hub: null };
  }
  if (!looksLikeHubId(spec)) {
    throw new UserError(`${o.flag} ${spec}: no such directory, and not a Hugging Face id (org/name or org/name@revision)`);
  }
  const { id, revision } = parseHubSpec(spec, o.revision, o.flag);
  const env = hubEnv(o.env);
  const storage = repoFolder(env.cacheDir, id);
  const where = `${id}@${revision}`;
  const cached = lookInCache(storage, revision, o.kind, where);
  if (cached.dir) {
    o.log?.(`${o.flag} ${where}: commit ${cached.commit} from the hub cache (${cached.dir})`);
    return { dir: cached.dir, hub: hubRecord(id, revision, cached, env) };
  }
  const notCached = `${where} is not in the Hugging Face cache (${storage}: missing ${cached.missing.join(', ')})`;
  if (env.offline) {
    throw new NotInHubCache(`${notCached} and HF_HUB_OFFLINE is set: unset it to let bellm-bench download the files, or fetch them with \`${fetchCommand(id, revision, o.kind)}\``);
  }

  const client = new HubClient(env, o.fetch);
  try {
    const info = await client.revisionInfo(id, revision);
    if (info.gated && !env.token) {
      throw new UserError(`${id} is a gated repository: accept its licence at ${env.endpoint}/${id} with your Hugging Face account, then set HF_TOKEN to an access token of that account (or log in with \`hf auth login\`)`);
    }
    const commit = info.commit;
    const remote = new Set(info.files);
    const dir = snapshotDir(storage, commit);
    const fetchOne = async (file: string): Promise<void> => {
      if (fs.existsSync(path.join(dir, file))) return;
      const meta = await client.fileMeta(id, commit, file);
      const blob = blobPath(storage, meta.etag);
      if (!(fs.existsSync(blob) && fs.statSync(blob).size === meta.size)) {
        fs.mkdirSync(path.dirname(blob), { recursive: true });
        const part = `${blob}.incomplete`;
        o.log?.(`downloading ${id}/${file} (${(meta.size / 1e6).toFixed(1)} MB) at commit ${commit.slice(0, 12)}`);
        await client.download(meta, part, { id, revision, file }, o.progress);
        if (checkHubHash(part, meta.etag) === 'mismatch') {
          fs.rmSync(part, { force: true });
          throw new UserError(`the download of ${id}/${file} does not match the Hub's hash ${meta.etag} (damaged in transit?): run the command again`);
        }
        fs.renameSync(part, blob);
      }
      linkIntoSnapshot(storage, commit, file, meta.etag);
    };
    // A sharded checkpoint: its index (small) first, to know the shards; a .bin-only repo fails here, before any download.
    const plan = neededFiles(o.kind, (f) => remote.has(f), () => [], where);
    if (o.kind === 'model' && plan.required.includes(INDEX)) {
      await fetchOne(INDEX);
      plan.required.push(...shardsOfIndex(path.join(dir, INDEX)));
    }
    for (const f of plan.required) {
      if (!remote.has(f)) throw new UserError(`${where} (commit ${commit}) has no ${f}: is it a ${o.kind === 'adapter' ? 'PEFT LoRA adapter' : 'LLaMA-family model'} repository?`);
    }
    for (const f of [...new Set([...plan.required, ...plan.optional])]) await fetchOne(f);
    writeRef(storage, revision, commit);
    const after = lookInCache(storage, revision, o.kind, where);
    if (!after.dir) throw new UserError(`${where}: files still missing after the download (${after.missing.join(', ')}) in ${storage}`);
    return { dir: after.dir, hub: hubRecord(id, revision, after, env) };
  } catch (e) {
    if (e instanceof HubUnreachable) {
      throw new UserError(`${e.message} and ${notCached}: connect to the network (or set HF_ENDPOINT to a reachable mirror), or fetch the files elsewhere with \`${fetchCommand(id, revision, o.kind)}\` and copy the cache folder`);
    }
    throw e;
  }
}

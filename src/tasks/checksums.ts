// data/checksums.json: sha256 of every file the loaders read, and where `data fetch` gets them.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DataChecksums {
  about: string;
  source: { url: string; format: string; note?: string };
  files: Record<string, string>;   // path relative to the data dir -> sha256 hex
}

export const CHECKSUMS_PATH = new URL('../../data/checksums.json', import.meta.url);

let cached: DataChecksums | null = null;
export function loadChecksums(): DataChecksums {
  cached ??= JSON.parse(readFileSync(CHECKSUMS_PATH, 'utf8')) as DataChecksums;
  return cached;
}

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

export interface VerifyReport {
  ok: string[];
  missing: string[];
  mismatched: string[];            // present, different sha256
}

/** Check each listed file under dataDir against its sha256. */
export function verifyDir(dataDir: string, files: Record<string, string> = loadChecksums().files): VerifyReport {
  const report: VerifyReport = { ok: [], missing: [], mismatched: [] };
  for (const [rel, hash] of Object.entries(files)) {
    const p = join(dataDir, rel);
    if (!existsSync(p)) report.missing.push(rel);
    else if (sha256(readFileSync(p)) !== hash) report.mismatched.push(rel);
    else report.ok.push(rel);
  }
  return report;
}

// The bellm-bench CLI as a child process (node bin/bellm-bench.js), for end-to-end tests.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './shared.ts';

const exec = promisify(execFile);

export interface CliRun { code: number; stdout: string; stderr: string }

export interface CliOptions {
  cwd?: string;
  /** Added to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Pass --quiet (no progress lines); default true. */
  quiet?: boolean;
  /** Kill the run after this many ms (SIGKILL): a hang shows as code -1 and "killed by SIGKILL (hang)". */
  timeout?: number;
}

/** Runs the CLI; never throws: the exit code and both streams come back. */
export async function cli(args: readonly string[], o: CliOptions = {}): Promise<CliRun> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [join(repoRoot, 'bin/bellm-bench.js'), ...(o.quiet === false ? [] : ['--quiet']), ...args], {
      cwd: o.cwd ?? repoRoot, maxBuffer: 1 << 26, env: { ...process.env, ...o.env },
      ...(o.timeout ? { timeout: o.timeout, killSignal: 'SIGKILL' as const } : {}),
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number | null; signal?: string; stdout: string; stderr: string };
    return { code: err.code ?? -1, stdout: err.stdout, stderr: err.signal ? `killed by ${err.signal} (hang)\n${err.stderr}` : err.stderr };
  }
}

/** Runs the CLI and expects success: throws with the command and its stderr otherwise. */
export async function cliOk(args: readonly string[], o: CliOptions = {}): Promise<CliRun> {
  const r = await cli(args, o);
  if (r.code !== 0) throw new Error(`bellm-bench ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r;
}

/** Runs the CLI and expects failure: the exit code and stderr (trimmed); throws if it succeeded. */
export async function cliFails(args: readonly string[], o: CliOptions = {}): Promise<{ code: number; stderr: string }> {
  const r = await cli(args, o);
  if (r.code === 0) throw new Error(`expected failure: ${args.join(' ')}`);
  return { code: r.code, stderr: r.stderr.trim() };
}

/** A refusal as the project promises one: exit 2 and exactly one stderr line matching `re`. */
export function expectOneLine(t: import('ava').ExecutionContext, r: { code: number; stderr: string }, re: RegExp): void {
  t.is(r.code, 2, r.stderr);
  const lines = r.stderr.trimEnd().split('\n');
  t.is(lines.length, 1, r.stderr);
  t.regex(lines[0], re);
}

// `bellm-bench data fetch|verify`: get the SentEval task files into --data-dir, check them by sha256.
import cliProgress from 'cli-progress';
import type { Argv, CommandModule } from 'yargs';
import { UserError } from '../../errors.ts';
import { loadChecksums, verifyDir } from '../../tasks/checksums.ts';
import { fetchData } from '../../tasks/fetch.ts';
import { COMMANDS } from '../command-list.ts';

interface Global { 'data-dir': string; quiet: boolean }
interface FetchArgs extends Global { force: boolean; url?: string; archive?: string }

const fetchCommand: CommandModule<Global, FetchArgs> = {
  command: 'fetch',
  describe: 'download the task files (SentEval\'s data, via SimCSE\'s senteval.tar) into --data-dir and verify them',
  builder: (y) => y
    .option('force', { type: 'boolean', default: false, describe: 're-download and overwrite every task file' })
    .option('url', { type: 'string', describe: 'archive URL (tar, tar.gz or zip) instead of the one in data/checksums.json' })
    .option('archive', { type: 'string', describe: 'a local archive file instead of downloading' }) as Argv<FetchArgs>,
  handler: async (argv) => {
    const showBar = !argv.quiet && process.stderr.isTTY === true;
    const bar = showBar ? new cliProgress.SingleBar({ format: 'download [{bar}] {percentage}% {value}/{total} bytes', stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
    let started = false;
    try {
      await fetchData({
        dataDir: argv['data-dir'],
        force: argv.force,
        url: argv.url,
        archive: argv.archive,
        log: (line) => process.stdout.write(`${line}\n`),
        onProgress: (bytes, total) => {
          if (!bar || total === null) return;
          if (!started) { bar.start(total, 0); started = true; }
          bar.update(bytes);
        },
      });
    } finally {
      if (started) bar!.stop();
    }
  },
};

const verifyCommand: CommandModule<Global, Global> = {
  command: 'verify',
  describe: 'check the task files in --data-dir against data/checksums.json',
  handler: (argv) => {
    const dir = argv['data-dir'];
    const r = verifyDir(dir);
    const total = Object.keys(loadChecksums().files).length;
    if (r.missing.length < total) for (const f of r.missing) process.stdout.write(`missing   ${f}\n`);
    for (const f of r.mismatched) process.stdout.write(`DIFFERS   ${f}\n`);
    if (r.missing.length || r.mismatched.length) {
      throw new UserError(`data verify: ${r.missing.length} of ${total} task files missing and ${r.mismatched.length} differing under ${dir}: run \`bellm-bench data fetch\`${r.mismatched.length ? ' --force' : ''} or pass --data-dir`);
    }
    process.stdout.write(`all ${total} task files under ${dir} match data/checksums.json\n`);
  },
};

export const dataCommand: CommandModule<Global, Global> = {
  ...COMMANDS.data,
  builder: (y) => y.command(fetchCommand).command(verifyCommand).demandCommand(1, 'name an action: fetch or verify') as Argv<Global>,
  handler: () => {},
};

// The single list of CLI commands. Each module exports one yargs CommandModule; it is imported only
// when its command runs (or shows its own --help): yargs takes async builders, so the top-level
// --help needs nothing but src/cli/command-list.ts and starts in a fraction of a second.
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import { COMMANDS } from './command-list.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = CommandModule<any, any>;

const LOADERS: Record<keyof typeof COMMANDS, () => Promise<AnyCommand>> = {
  tasks: async () => (await import('./tasks.ts')).tasksCommand,
  data: async () => (await import('./data.ts')).dataCommand,
  pairs: async () => (await import('./pairs.ts')).pairsCommand,
  score: async () => (await import('./score.ts')).scoreCommand,
  embed: async () => (await import('./embed.ts')).embedCommand,
  sts: async () => (await import('./sts.ts')).stsCommand,
  degrade: async () => (await import('./degrade.ts')).degradeCommand,
  merge: async () => (await import('./merge.ts')).mergeCommand,
  report: async () => (await import('./report.ts')).reportCommand,
  presets: async () => (await import('./presets.ts')).presetsCommand,
  explain: async () => (await import('./explain.ts')).explainCommand,
  // experiment grids (issue 16)
  run: async () => (await import('./run.ts')).runCommand,
  slurm: async () => (await import('./slurm.ts')).slurmCommand,
};

/** A command whose module loads when yargs builds it (it runs, or its --help is asked for). */
function lazy(name: keyof typeof COMMANDS): AnyCommand {
  let loaded: Promise<AnyCommand> | null = null;
  const load = () => (loaded ??= LOADERS[name]());
  return {
    ...COMMANDS[name],
    builder: async (y: Argv) => {
      const m = await load();
      return typeof m.builder === 'function' ? m.builder(y) : m.builder ? y.options(m.builder) : y;
    },
    handler: async (a: ArgumentsCamelCase) => (await load()).handler(a),
  };
}

export const commands: AnyCommand[] = (Object.keys(LOADERS) as (keyof typeof COMMANDS)[]).map(lazy);

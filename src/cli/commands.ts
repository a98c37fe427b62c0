// The single list of CLI commands. Each module exports one yargs CommandModule; it is imported only
// when its command runs (or shows its own --help): yargs takes async builders, so the top-level
// --help needs nothing but src/cli/command-list.ts and starts in a fraction of a second.
import type { Argv, ArgumentsCamelCase, CommandModule } from 'yargs';
import { COMMANDS } from './command-list.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyCommand = CommandModule<any, any>;

const LOADERS: Record<keyof typeof COMMANDS, () => Promise<AnyCommand>> = {
  tasks: async () => (await import('./commands/tasks.ts')).tasksCommand,
  data: async () => (await import('./commands/data.ts')).dataCommand,
  pairs: async () => (await import('./commands/pairs.ts')).pairsCommand,
  score: async () => (await import('./commands/score.ts')).scoreCommand,
  embed: async () => (await import('./commands/embed.ts')).embedCommand,
  sts: async () => (await import('./commands/sts.ts')).stsCommand,
  degrade: async () => (await import('./commands/degrade.ts')).degradeCommand,
  merge: async () => (await import('./commands/merge.ts')).mergeCommand,
  report: async () => (await import('./commands/report.ts')).reportCommand,
  presets: async () => (await import('./commands/presets.ts')).presetsCommand,
  explain: async () => (await import('./commands/explain.ts')).explainCommand,
  // experiment grids (issue 16)
  run: async () => (await import('./grid/run.ts')).runCommand,
  slurm: async () => (await import('./grid/slurm.ts')).slurmCommand,
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

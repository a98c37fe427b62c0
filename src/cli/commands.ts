// The single list of CLI commands. Each module exports one yargs CommandModule.
import type { CommandModule } from 'yargs';
import { tasksCommand } from './tasks.ts';
import { dataCommand } from './data.ts';
import { scoreCommand } from './score.ts';
import { embedCommand } from './embed.ts';
import { stsCommand } from './sts.ts';
import { degradeCommand } from './degrade.ts';
import { mergeCommand } from './merge.ts';
import { reportCommand } from './report.ts';
import { presetsCommand } from './presets.ts';
import { explainCommand } from './explain.ts';
import { pairsCommand } from './pairs.ts';
import { runCommand } from './run.ts';
import { slurmCommand } from './slurm.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: CommandModule<any, any>[] = [
  tasksCommand, dataCommand, pairsCommand, scoreCommand, embedCommand, stsCommand, degradeCommand, mergeCommand, reportCommand, presetsCommand,
  explainCommand,
  // experiment grids (issue 16)
  runCommand, slurmCommand,
];

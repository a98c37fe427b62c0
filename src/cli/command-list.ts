// Each command's name, positionals and one-line description: all that the top-level --help needs, so
// it lists the commands without loading any of them (src/cli/commands.ts loads one when it runs).
export const COMMANDS = {
  tasks: {
    command: 'tasks',
    describe: 'list the STS tasks, their subsets and scored-pair counts',
  },
  data: {
    command: 'data <action>',
    describe: 'get (fetch) or check (verify) the SentEval task files in --data-dir',
  },
  pairs: {
    command: 'pairs',
    describe: 'export a task\'s scored pairs (index, subset, gold, sentence1, sentence2) in the order `score` expects',
  },
  score: {
    command: 'score',
    describe: 'score predicted similarities (one per scored pair, in the order `bellm-bench pairs` lists them) against a task\'s gold scores',
  },
  embed: {
    command: 'embed',
    describe: 'embed one sentence per line of --input into JSONL ({"text", "embedding"} per line; --with-tokens adds "ids" and "pooledPositions") or .npy (float32, one row per line)',
  },
  sts: {
    command: 'sts',
    describe: 'score a model (+ LoRA) on STS12-16, STS-B and SICK-R (Spearman x100, SentEval `all` / test split)',
  },
  degrade: {
    command: 'degrade',
    describe: 'layer sweep: score every k (leading causal layers, or layers kept), find the turning point',
  },
  merge: {
    command: 'merge <files..>',
    describe: 'join the shard results of one degrade sweep (--shard i/n) into one results file',
  },
  report: {
    command: 'report <results..>',
    describe: 'write Markdown, CSV, JSON, HTML, LaTeX tables and PNG/SVG/PDF figures from results files or folders of them',
  },
  presets: {
    command: 'presets',
    describe: 'list the settings presets, where each comes from, and where the official code disagreed with the issue that asked for it',
  },
  explain: {
    command: 'explain <sentences..>',
    describe: "show a preset's template pieces, every token id and which positions are pooled (loads only the tokenizer)",
  },
  run: {
    command: 'run <experiment>',
    describe: 'run an experiment grid (YAML or JSON): every cell not yet done, then the grid report',
  },
  slurm: {
    command: 'slurm <experiment>',
    describe: 'write sbatch scripts for a grid (a job array of `run --shard auto` and a merge job after it); --submit submits them',
  },
} as const satisfies Record<string, { command: string; describe: string }>;

// Experiment files: parsing, one-line errors naming file and key, cell expansion, keys and labels.
import test, { type ExecutionContext } from 'ava';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadGrid, optionTable, optionTables } from '../../src/cli/grid/experiment-options.ts';
import { cellKey, identityOptions, NOT_IN_KEY } from '../../src/experiments/grid/cells.ts';
import { closestName, editDistance } from '../../src/experiments/stats/closest.ts';
import { parseExperiment, RESERVED_OPTIONS, type OptionSpec, type OptionTables } from '../../src/experiments/grid/experiment-file.ts';
import { UserError } from '../../src/errors.ts';
import { tempDir } from '../helpers/damaged.ts';
import { fixture, sentevalDir } from '../helpers/shared.ts';

const tables = optionTables();
const model = fixture('tiny-llama');
const lora = fixture('tiny-lora');

/** Writes `text` as an experiment file and loads it as `run` does. */
function grid(t: ExecutionContext, text: string, name = 'exp.yaml') {
  const dir = tempDir(t, 'bb-exp-');
  const file = join(dir, name);
  writeFileSync(file, text);
  return { file, dir, load: () => loadGrid(file, { out: join(dir, 'out'), quiet: true, cacheDir: join(dir, 'cache') }) };
}

/** The load fails with one UserError line that names the file and matches every pattern. */
function refuses(t: ExecutionContext, text: string, ...patterns: RegExp[]): string {
  const g = grid(t, text);
  const e = t.throws(() => g.load(), { instanceOf: UserError })!;
  t.false(e.message.includes('\n'), `one line: ${e.message}`);
  t.true(e.message.startsWith(g.file), `names the file: ${e.message}`);
  for (const p of patterns) t.regex(e.message, p);
  return e.message;
}

const base = `name: t\ndata_dir: ${sentevalDir}\ntasks: [STSBenchmark]\n`;

test('edit distance and the closest name', (t) => {
  t.is(editDistance('kitten', 'sitting'), 3);
  t.is(editDistance('ab', 'ba'), 1); // a swap is one edit
  t.is(closestName('billm_start_idx', ['billm_start_index', 'batch_size', 'n_layers']), 'billm_start_index');
  t.is(closestName('polling', ['pooling', 'prompt', 'preset']), 'pooling');
  t.is(closestName('x', []), undefined);
});

test('unknown keys: one line with the file, the key and the closest valid name', (t) => {
  refuses(t, `${base}runs:\n  - model: ${model}\n    billm_start_idx: 3\n`, /runs\[0\]: unknown key "billm_start_idx"/, /did you mean "billm_start_index"\?/);
  refuses(t, `${base}poling: last\nruns:\n  - model: ${model}\n`, /unknown key "poling"; did you mean "pooling"\?/);
  refuses(t, `${base}runs:\n  - degrade: {model: ${model}, layer: 0..4}\n`, /runs\[0\]\.degrade: unknown key "layer" \(not an option of `bellm-bench degrade`\); did you mean "layers"\?/);
  // an sts-only option in a degrade run
  refuses(t, `${base}runs:\n  - degrade: {model: ${model}, sentence_stats: false}\n`, /runs\[0\]\.degrade: unknown key "sentence_stats"/);
  // CLI spelling is not a key; the message gives the snake_case name
  refuses(t, `${base}runs:\n  - model: ${model}\n    max-length: 64\n`, /unknown key "max-length" .*; did you mean "max_length"\?/);
  refuses(t, `${base}runs:\n  - model: ${model}\nbaselin: {lora: null}\n`, /unknown key "baselin"; did you mean "baseline"\?/);
  refuses(t, `${base}runs:\n  - model: ${model}\nbaseline: {lorra: null}\n`, /baseline: unknown key "lorra".*did you mean "lora"\?/);
  refuses(t, `${base}runs:\n  - model: ${model}\nreport: {bootstrapp: 10}\n`, /report: unknown key "bootstrapp"; did you mean "bootstrap"\?/);
});

test('bad values: type and choices, naming the key (and the closest choice)', (t) => {
  refuses(t, `${base}runs:\n  - model: ${model}\n    pooling: lst\n`, /runs\[0\]\.pooling: "lst" is not one of last, avg, first, weighted; did you mean "last"\?/);
  refuses(t, `${base}runs:\n  - model: ${model}\n    billm_start_index: [null, three]\n`, /runs\[0\]\.billm_start_index\[1\]: expected a number, got "three"/);
  refuses(t, `${base}runs:\n  - model: ${model}\n    sentence_stats: yes please\n`, /runs\[0\]\.sentence_stats: expected true or false, got "yes please"/);
  refuses(t, `${base}runs:\n  - model: ${model}\n    max_length: {a: 1}\n`, /runs\[0\]\.max_length: expected a number or a list of them, got a mapping/);
  refuses(t, `${base}runs:\n  - model: ${model}\n    batch_size: .inf\n`, /batch_size: expected a number, got Infinity/);
  refuses(t, `${base}runs:\n  - model: ${model}\n    tasks: []\n`, /runs\[0\]\.tasks: an empty list/);
  refuses(t, `${base}runs:\n  - model: ${model}\n    out: x.json\n`, /"out" cannot be set in an experiment file/);
  refuses(t, `${base}runs:\n  - degrade: {model: ${model}, shard: 1/2}\n`, /"shard" cannot be set/);
  refuses(t, `name: "bad name!"\nruns:\n  - model: ${model}\n`, /name: expected a name of letters/);
  refuses(t, `${base}runs:\n  - model: ${model}\nreport: {bootstrap: -5}\n`, /report\.bootstrap: expected a whole number of resamples/);
});

test('empty grids and missing pieces', (t) => {
  refuses(t, `${base}runs: []\n`, /runs: the list is empty, so the grid has no cells/);
  refuses(t, `${base}runs:\n  - model: ${model}\n    lora: []\n`, /runs\[0\]\.lora: an empty list gives no cells/);
  refuses(t, `${base}`, /missing "runs"/);
  refuses(t, `runs:\n  - model: ${model}\n`, /missing "name"/);
  refuses(t, `${base}runs:\n  - lora: ${lora}\n`, /runs\[0\]: missing "model" \(required by `bellm-bench sts`\)/);
  refuses(t, `${base}runs:\n  - model: [null, ${model}]\n`, /"model": null, but `bellm-bench sts` requires it/);
  refuses(t, ``, /got an empty file/);
  refuses(t, `- a\n- b\n`, /expected a mapping with "name" and "runs"/);
  refuses(t, `${base}runs:\n  - degrade: {model: ${model}}\n    lora: x\n`, /"degrade" must be the only key of its run/);
});

test('YAML and JSON syntax errors give the line and column', (t) => {
  refuses(t, `${base}runs:\n  - model: [a, b\n`, /exp\.yaml:\d+:\d+: not valid YAML/);
  refuses(t, `${base}${base}runs: []\n`, /not valid YAML \(.*[Mm]ap keys must be unique/);
  const g = grid(t, '{"name": "t", "runs": [', 'exp.json');
  t.throws(() => g.load(), { instanceOf: UserError, message: /exp\.json: not valid JSON/ });
});

test('lists expand to their Cartesian product, the first key outermost; top-level keys apply to every run', (t) => {
  const g = grid(t, `${base}sentence_stats: false
runs:
  - model: ${model}
    lora: [null, ${lora}]
    billm_start_index: [null, 2, 3]
  - degrade: {model: ${model}, layers: 0..4, mode: [bidirectional, truncate]}
baseline: {lora: null, billm_start_index: null}
`).load();
  t.is(g.cells.length, 8);
  const sts = g.cells.filter((c) => c.command === 'sts');
  t.deepEqual(sts.map((c) => [c.args.lora ?? null, c.args['billm-start-index'] ?? null]), [
    [null, null], [null, 2], [null, 3], [lora, null], [lora, 2], [lora, 3],
  ]);
  t.deepEqual(g.cells.filter((c) => c.command === 'degrade').map((c) => c.args.mode), ['bidirectional', 'truncate']);
  for (const c of g.cells) {
    t.deepEqual(c.args.tasks, ['STSBenchmark']);
    t.is(c.args['data-dir'], sentevalDir);
  }
  t.true(sts.every((c) => c.args['sentence-stats'] === false));
  // the commands' own defaults are filled in, as the CLI fills them
  t.is(sts[0].args.preset, 'bellm-sts');
  t.is(g.cells[6].args.preset, 'bellm-degrade');
  t.is(sts[0].args['group-size'], 100);
  t.deepEqual(sts.map((c) => c.label), [
    'lora=none, billm_start_index=none', 'lora=none, billm_start_index=2', 'lora=none, billm_start_index=3',
    'lora=tiny-lora, billm_start_index=none', 'lora=tiny-lora, billm_start_index=2', 'lora=tiny-lora, billm_start_index=3',
  ]);
  t.deepEqual(g.cells.slice(6).map((c) => c.label), ['degrade mode=bidirectional', 'degrade mode=truncate']);
  t.is(g.baseline, sts[0]);
  t.is(new Set(g.cells.map((c) => c.key)).size, 8);
  t.true(g.cells.every((c) => c.id === c.key.slice(0, 16) && /^[0-9a-f]{64}$/.test(c.key)));
  t.true(g.cells.every((c) => c.args.out === join(g.cells[0].args.out as string, '..', '..', c.id, 'results.json')));
});

test('a list-valued option takes a list as its value and a list of lists as its axis', (t) => {
  const g = grid(t, `name: t\ndata_dir: ${sentevalDir}\nruns:\n  - model: ${model}\n    tasks: [[STSBenchmark], [SICKRelatedness, STS12]]\n  - model: ${model}\n    tasks: STSBenchmark\n`).load();
  // the third cell repeats the first: it runs once
  t.deepEqual(g.cells.map((c) => c.args.tasks), [['STSBenchmark'], ['SICKRelatedness', 'STS12']]);
});

test('a repeated cell runs once; labels must be unique; label templates fill in values', (t) => {
  const g = grid(t, `${base}runs:\n  - model: ${model}\n    billm_start_index: [2, 3]\n    label: "k={billm_start_index}"\n  - model: ${model}\n    billm_start_index: 2\n`).load();
  t.deepEqual(g.cells.map((c) => c.label), ['k=2', 'k=3']);
  refuses(t, `${base}runs:\n  - model: ${model}\n    billm_start_index: [2, 3]\n    label: same\n`, /both have the label "same"/);
  refuses(t, `${base}runs:\n  - model: ${model}\n    label: "k={billm_start}"\n`, /names \{billm_start\}, which is not an option; did you mean \{billm_start_index\}\?/);
});

test('the baseline must name exactly one sts cell', (t) => {
  const runs = `runs:\n  - model: ${model}\n    lora: [null, ${lora}]\n    pooling: [last, avg]\n`;
  refuses(t, `${base}${runs}baseline: {lora: null}\n`, /baseline \{lora: null\} matches 2 sts cells/);
  refuses(t, `${base}${runs}baseline: {pooling: first}\n`, /matches none of the 4 sts cells/);
  refuses(t, `${base}${runs}baseline: {pooling: [last, avg]}\n`, /baseline\.pooling: expected one value/);
  const g = grid(t, `${base}${runs}baseline: {lora: ${lora}, pooling: avg}\n`).load();
  t.is(g.baseline?.label, 'lora=tiny-lora, pooling=avg');
  // no baseline: the first sts cell
  t.is(grid(t, `${base}${runs}`).load().baseline?.label, 'lora=none, pooling=last');
});

test('every option of sts and degrade is a key, under its snake_case name', (t) => {
  for (const command of ['sts', 'degrade'] as const) {
    const table = optionTable(command);
    t.true(table.has('model') && table.has('data-dir') && table.has('tasks'));
    for (const spec of table.values()) {
      if (spec.name in RESERVED_OPTIONS) continue;
      const v = spec.choices ? spec.choices[0] : spec.array ? ['x'] : spec.type === 'number' ? 1 : spec.type === 'boolean' ? true : 'x';
      const doc = { name: 't', runs: [command === 'sts' ? { model: 'm', [spec.name.replaceAll('-', '_')]: v } : { degrade: { model: 'm', [spec.name.replaceAll('-', '_')]: v } }] };
      const e = parseExperiment('f.yaml', doc, tables);
      t.deepEqual(e.cells[0].values[spec.name], v, `${command} ${spec.name}`);
    }
  }
});

test('an option a command gains is a key, type-checked, and part of the cell key with no change to the grid code', (t) => {
  const kv: OptionSpec = { name: 'kv-cache', type: 'string', array: false, choices: ['none', 'fp8', 'fp16'], required: false };
  const grown: OptionTables = { sts: new Map([...tables.sts, ['kv-cache', kv]]), degrade: tables.degrade };
  const e = parseExperiment('f.yaml', { name: 't', runs: [{ model: 'm', kv_cache: ['fp8', 'fp16'] }] }, grown);
  t.deepEqual(e.cells.map((c) => c.values['kv-cache']), ['fp8', 'fp16']);
  t.throws(() => parseExperiment('f.yaml', { name: 't', runs: [{ model: 'm', kv_cache: 'fp61' }] }, grown), { message: /runs\[0\]\.kv_cache: "fp61" is not one of none, fp8, fp16; did you mean "fp16"\?/ });
  t.throws(() => parseExperiment('f.yaml', { name: 't', runs: [{ model: 'm', kv_cache: 'fp16' }] }, tables), { message: /unknown key "kv_cache"/ });
  const args = (d: string | undefined) => ({ model: 'm', preset: 'bellm-sts', ...(d ? { 'kv-cache': d } : {}) });
  const key = (d?: string) => cellKey('sts', identityOptions(args(d), grown.sts));
  t.not(key('fp8'), key('fp16'));
  t.not(key('fp8'), key());
});

test('Hub ids, --revision, --lora-revision and --dtype are keys of the cell and decide which cells share a loaded model', (t) => {
  // Hub ids stay as written (nothing is resolved or downloaded to expand the grid)
  const hub = 'NousResearch/Llama-2-7b-hf';
  const g = grid(t, `${base}runs:\n  - model: ${hub}\n    revision: [main, 8cca527612d856d7d32bd94f8103728d614eb852]\n    dtype: [null, fp16]\n  - model: ${model}\n    preset: [bellm-sts, bellm-paper]\n  - model: ${model}\n    lora: ${lora}\n    lora_revision: v1\n`).load();
  t.is(g.cells.length, 7);
  t.true(g.cells.slice(0, 4).every((c) => c.args.model === hub && c.identity.options.model === hub));
  t.deepEqual(g.cells.slice(0, 4).map((c) => [c.identity.options.revision, c.identity.options.dtype]), [
    ['main', null], ['main', 'fp16'], ['8cca527612d856d7d32bd94f8103728d614eb852', null], ['8cca527612d856d7d32bd94f8103728d614eb852', 'fp16'],
  ]);
  t.is(g.cells[6].identity.options['lora-revision'], 'v1');
  t.is(new Set(g.cells.map((c) => c.key)).size, 7);
  // loading options: another revision or dtype is another loaded model ...
  t.is(new Set(g.cells.slice(0, 4).map((c) => c.group)).size, 4);
  // ... and so is the fp16 a preset fixes (bellm-paper), while a prompt-only preset change shares the model
  const [sts, paper] = g.cells.slice(4, 6);
  t.not(sts.group, paper.group);
  const h = grid(t, `${base}runs:\n  - model: ${model}\n    preset: [bellm-sts, prompteol]\n`).load();
  t.is(h.cells[0].group, h.cells[1].group);
});

test('a comma preset list in a cell is refused, pointing to a list axis', (t) => {
  refuses(t, `${base}runs:\n  - model: ${model}\n    preset: "bellm-sts,prompteol"\n`,
    /runs\[0\]: preset "bellm-sts,prompteol" names 2 presets; a cell runs one: make it a list axis \(preset: \[bellm-sts, prompteol\]\)/);
  refuses(t, `${base}runs:\n  - model: ${model}\n    bootstrap: 50\n`, /"bootstrap" cannot be set in an experiment file: set the grid report's paired bootstrap with report: \{bootstrap: N, seed: S\}/);
  refuses(t, `${base}overwrite: true\nruns:\n  - model: ${model}\n`, /"overwrite" cannot be set in an experiment file: a cell whose results are stale runs again by itself/);
});

test('the cell key covers every setting that can change a number, and nothing else', (t) => {
  const g = grid(t, `${base}runs:\n  - model: ${model}\n`).load();
  const c = g.cells[0];
  const table = tables.sts;
  for (const name of table.keys()) {
    const changed = { ...c.args, [name]: name === 'tasks' ? ['STS12'] : `changed-${name}` };
    const same = cellKey('sts', identityOptions(changed, table)) === c.key;
    t.is(same, NOT_IN_KEY.has(name), name);
  }
  t.deepEqual([...NOT_IN_KEY].filter((n) => table.has(n)).sort(), ['bootstrap', 'cache', 'cache-dir', 'compare-paper', 'label', 'out', 'overwrite', 'quiet', 'seed', 'verify-weights']);
  // the loading options of issue 14 are in the key
  for (const name of ['revision', 'lora-revision', 'dtype']) t.true(name in c.identity.options, name);
  // relative paths become absolute (the key does not depend on the working directory's spelling)
  t.is(c.args.model, model);
});

test('a JSON experiment file is read like YAML', (t) => {
  const g = grid(t, JSON.stringify({ name: 't', data_dir: sentevalDir, tasks: ['STSBenchmark'], runs: [{ model, billm_start_index: [null, 2] }, { degrade: { model, layers: '0..4' } }] }), 'exp.json').load();
  t.deepEqual(g.cells.map((c) => [c.command, c.args['billm-start-index'] ?? null]), [['sts', null], ['sts', 2], ['degrade', null]]);
  t.is(g.cells[2].args.layers, '0..4');
});

// Progress bars on long work; silent when stderr is not a TTY or with --quiet.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

export function progressBar(label: string, quiet: boolean, unit = 'sentences'): Progress {
  if (quiet || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar({
    format: `${label} |{bar}| {value}/{total} {unit} | {percentage}% | ETA {eta_formatted}`,
    stream: process.stderr, hideCursor: true, etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  let started = false;
  return {
    update(done, total) {
      if (!started) { bar.start(total, done, { unit }); started = true; }
      bar.setTotal(total);
      bar.update(done);
    },
    stop() { if (started) bar.stop(); },
  };
}

/** A one-line warning on stderr that --quiet does not hide (damage found, something recomputed). */
export function notice(msg: string): void {
  process.stderr.write(`bellm-bench: note: ${msg}\n`);
}

/** A one-line status message on stderr (kept out of stdout, which carries tables). */
export function info(quiet: boolean, msg: string): void {
  if (!quiet) process.stderr.write(`${msg}\n`);
}

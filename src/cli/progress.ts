/**
 * Progress for long work: a bar on an interactive terminal, nothing in CI, with --json or --quiet, or when stderr is
 * piped (so logs stay clean). cli-progress draws on stderr so stdout stays machine-readable.
 */
import type cliProgress from 'cli-progress';

export interface Progress {
  /** Report `done` of `total` for a task labelled `label`; a new label starts a new bar. */
  update(label: string, done: number, total: number): void;
  stop(): void;
}

let quietAll = false;
/** Called by the CLI for --json / --quiet. */
export function setProgressQuiet(quiet: boolean): void {
  quietAll = quiet;
}

export function progressEnabled(): boolean {
  return !quietAll && Boolean(process.stderr.isTTY) && !process.env.CI;
}

export async function createProgress(): Promise<Progress> {
  if (!progressEnabled()) return { update() {}, stop() {} };
  // cli-progress (and node:readline under it) loads only for a terminal that shows a bar, not for every run.
  const { default: bars } = await import('cli-progress');
  let bar: cliProgress.SingleBar | undefined;
  let current = '';
  return {
    update(label, done, total) {
      if (label !== current || !bar) {
        bar?.stop();
        current = label;
        bar = new bars.SingleBar(
          { format: `${label.padEnd(24).slice(0, 24)} [{bar}] {value}/{total} {eta_formatted}`, stream: process.stderr, hideCursor: true, clearOnComplete: true },
          bars.Presets.shades_classic,
        );
        bar.start(total, done);
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
      if (done >= total) {
        bar.stop();
        bar = undefined;
        current = '';
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}

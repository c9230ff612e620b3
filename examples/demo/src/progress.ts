import type { Phase } from './incident.ts';
import { phaseAt } from './incident.ts';
import type { ClientRecorder } from './recorder.ts';

/**
 * Where progress goes: a terminal (lines rewritten in place) or a log (a line now and then).
 * `columns` is the terminal's width (`process.stdout.columns`), read at every redraw.
 */
export type ProgressOutput = {
  write: (text: string) => unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
};

/**
 * A line cut to fit a terminal `columns` wide, one column short of it: a line that filled the
 * last column would wrap on some terminals, and the redraw moves the cursor up one row per line.
 */
export function fitLine(line: string, columns: number | undefined): string {
  if (columns === undefined || !Number.isFinite(columns) || columns < 2 || line.length < columns) return line;
  return `${line.slice(0, columns - 2)}…`;
}

/** One line about one client: calls so far, success, upstream attempts, retries, breaker state. */
export function progressLine(recorder: ClientRecorder, width: number): string {
  const calls = recorder.calls.length;
  const ok = recorder.calls.filter((call) => call.ok).length;
  const rate = calls === 0 ? '  -  ' : `${((100 * ok) / calls).toFixed(1).padStart(5)}%`;
  const attempts = recorder.attempts();
  const perCall = calls === 0 ? '-' : (attempts / calls).toFixed(2);
  const breaker = recorder.breakerState();
  return (
    `${recorder.label.padEnd(width)}  calls done ${String(calls).padStart(5)}  ok ${rate}  ` +
    `upstream ${String(attempts).padStart(5)} (${perCall}/call)  retries ${String(recorder.retries.length).padStart(4)}` +
    (recorder.breaker.length > 0 || recorder.id === 'resilient' ? `  breaker ${breaker}` : '')
  );
}

/**
 * Live progress. On a terminal: a header line and one line per client, rewritten in place.
 * Elsewhere: the same lines every `logEveryMs`, as plain lines.
 */
export class Progress {
  readonly #out: ProgressOutput;
  readonly #recorders: readonly ClientRecorder[];
  readonly #phases: readonly Phase[];
  readonly #totalMs: number;
  readonly #logEveryMs: number;
  #drawn = 0;
  #lastLog = Number.NEGATIVE_INFINITY;

  constructor(
    out: ProgressOutput,
    recorders: readonly ClientRecorder[],
    phases: readonly Phase[],
    totalMs: number,
    logEveryMs: number,
  ) {
    this.#out = out;
    this.#recorders = recorders;
    this.#phases = phases;
    this.#totalMs = totalMs;
    this.#logEveryMs = logEveryMs;
  }

  #lines(atMs: number): string[] {
    const width = Math.max(...this.#recorders.map((r) => r.label.length));
    const phase = phaseAt(this.#phases, atMs);
    const seconds = `${(Math.min(atMs, this.#totalMs) / 1000).toFixed(1)}/${(this.#totalMs / 1000).toFixed(this.#totalMs < 10_000 ? 1 : 0)} s`;
    const header = `upstream: ${phase.padEnd(8)} ${seconds}`;
    return [header, ...this.#recorders.map((r) => `  ${progressLine(r, width)}`)];
  }

  /** Draws the current state (a terminal) or logs it when due (otherwise). */
  update(atMs: number, force = false): void {
    if (this.#out.isTTY === true) {
      // Each line kept to one row, so moving up one row per line lands on the first one.
      const lines = this.#lines(atMs).map((line) => fitLine(line, this.#out.columns));
      const up = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
      this.#out.write(`${up}${lines.map((line) => `\x1b[2K${line}\n`).join('')}`);
      this.#drawn = lines.length;
    } else if (force || atMs - this.#lastLog >= this.#logEveryMs) {
      this.#lastLog = atMs;
      this.#out.write(`${this.#lines(atMs).join('\n')}\n`);
    }
  }
}

/** The part of a stream the bar needs (`process.stdout` fits). */
export type BarStream = {
  write: (text: string) => unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
};

/**
 * A one-line progress bar, redrawn in place with `\r`, only when `stream` is a terminal; on
 * anything else (a pipe, a file, CI logs) `update` and `finish` write nothing.
 */
export class ProgressBar {
  readonly #stream: BarStream;
  readonly #enabled: boolean;
  #last = '';

  constructor(stream: BarStream) {
    this.#stream = stream;
    this.#enabled = stream.isTTY === true;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Renders `[#####-----] done/total (failed failed)`, fitted to the terminal's width. */
  static render(done: number, failed: number, total: number, columns: number): string {
    const counts = ` ${done}/${total}${failed > 0 ? ` (${failed} failed)` : ''}`;
    const width = Math.max(10, Math.min(40, columns - counts.length - 3));
    const filled = total === 0 ? width : Math.round((done / total) * width);
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]${counts}`;
  }

  update(progress: { done: number; failed: number; total: number }): void {
    if (!this.#enabled) return;
    const line = ProgressBar.render(
      progress.done,
      progress.failed,
      progress.total,
      this.#stream.columns ?? 80,
    );
    if (line === this.#last) return;
    this.#last = line;
    this.#stream.write(`\r\x1b[2K${line}`);
  }

  finish(): void {
    if (this.#enabled && this.#last !== '') this.#stream.write('\n');
  }
}

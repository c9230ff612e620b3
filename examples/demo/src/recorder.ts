/** One call of the workload, in milliseconds from the start of the run. */
export type CallRecord = { startMs: number; endMs: number; ok: boolean; error?: string };

export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** A circuit breaker state change, in milliseconds from the start of the run. */
export type BreakerTransition = { atMs: number; from: BreakerState; to: BreakerState };

/** A sample of the upstream's request counter (every attempt the client sent). */
export type AttemptSample = { atMs: number; total: number };

/** Everything one client did during the run. */
export class ClientRecorder {
  readonly id: string;
  readonly label: string;
  readonly calls: CallRecord[] = [];
  readonly retries: number[] = [];
  readonly rejections: number[] = [];
  readonly breaker: BreakerTransition[] = [];
  readonly attemptSamples: AttemptSample[] = [{ atMs: 0, total: 0 }];
  readonly errorKinds: Map<string, number> = new Map();
  readonly #clock: () => number;

  constructor(id: string, label: string, clock: () => number) {
    this.id = id;
    this.label = label;
    this.#clock = clock;
  }

  now(): number {
    return this.#clock();
  }

  call(record: CallRecord): void {
    this.calls.push(record);
    if (record.error !== undefined)
      this.errorKinds.set(record.error, (this.errorKinds.get(record.error) ?? 0) + 1);
  }

  retry(): void {
    this.retries.push(this.#clock());
  }

  rejected(): void {
    this.rejections.push(this.#clock());
  }

  breakerChange(from: BreakerState, to: BreakerState): void {
    this.breaker.push({ atMs: this.#clock(), from, to });
  }

  sampleAttempts(total: number): void {
    this.attemptSamples.push({ atMs: this.#clock(), total });
  }

  /** The breaker's state now (closed when it never changed). */
  breakerState(): BreakerState {
    return this.breaker.at(-1)?.to ?? 'closed';
  }

  attempts(): number {
    return this.attemptSamples.at(-1)?.total ?? 0;
  }
}

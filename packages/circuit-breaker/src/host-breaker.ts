import {
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  CountBreaker,
  circuitBreaker,
  handleWhenResult,
  type IBackoff,
  type IBackoffFactory,
  type IBreaker,
  type IHalfOpenAfterBackoffContext,
  isBrokenCircuitError,
  isIsolatedCircuitError,
} from 'cockatiel';
import type { BodyConsumer } from './body-handoff.ts';
import { defaultIsFailure } from './classify.ts';
import { CircuitOpenError, type RejectedState } from './errors.ts';
import { type CircuitStateName, emit, type FailureDetail, type StateChangeReason } from './events.ts';
import type { CallOutcome, ResolvedOptions, ResolvedPolicy } from './options.ts';
import { WindowBreaker } from './window-breaker.ts';

/** What cockatiel sees of a call: failed or not (the caller gets the real response or error). */
type Verdict = { readonly failed: boolean; readonly detail?: FailureDetail };

const SUCCESS: Verdict = Object.freeze({ failed: false });
/** Settles a probe slot whose half-open phase is over: cockatiel ignores outcomes of a past phase. */
const STALE: Verdict = Object.freeze({ failed: false });
/**
 * Thrown to cockatiel for an outcome that must not count (a caller's abort, an error that is not a
 * failure) in the closed state: an error its filter does not handle is rethrown uncounted there.
 */
const UNCOUNTED: unique symbol = Symbol('uncounted');

const verdictPolicy = handleWhenResult((value) => (value as Verdict).failed === true);

/** A half-open probe slot whose caller went away: the next admitted caller takes it over. */
type FreeSlot = {
  /** The half-open phase it belongs to. */
  readonly phase: number;
  /** Hands the slot's verdict to cockatiel. */
  readonly settle: (verdict: Verdict) => void;
  /** Settles once cockatiel has recorded the verdict. */
  readonly recorded: Promise<unknown>;
};

/** A breaker's saved state, part of a registry snapshot. */
export type HostSnapshot = {
  /** The breaker's key. */
  readonly host: string;
  /** Its state when saved (informative: `policy` is what is restored). */
  readonly state: CircuitStateName;
  /** When it last opened (clock ms), if open. */
  readonly openedAt: number | undefined;
  /** When probes are allowed (clock ms), if open or half-open (a half-open breaker restores as open with a probe due). */
  readonly nextProbeAt: number | undefined;
  /** cockatiel's `CircuitBreakerPolicy.toJSON()`. */
  readonly policy: unknown;
  /**
   * When the breaker was last used (clock ms), for its idle expiry: a restore skips a breaker idle
   * for longer than `idleTtlMs` by then, as the live registry would have dropped it. Absent in
   * snapshots taken before it was saved (the breaker then counts as used when restored).
   */
  readonly lastUsed?: number | undefined;
};

/** A breaker's state, for `describe(host)`. */
export type HostBreakerInfo = {
  readonly host: string;
  readonly state: CircuitStateName;
  /** When it last opened (clock ms), while open or half-open. */
  readonly openedAt: number | undefined;
  /** When probes are let through (clock ms), while open. */
  readonly nextProbeAt: number | undefined;
  /** How many times in a row it opened (1 after the first trip; 0 when closed). */
  readonly opens: number;
  /** Half-open probe slots taken in the current half-open phase (0 otherwise). */
  readonly probesInFlight: number;
  /** The last failure it counted. */
  readonly lastFailure: FailureDetail | undefined;
};

/** Creates the trip policy's cockatiel breaker. */
export function createBreaker(policy: ResolvedPolicy, clock: () => number): IBreaker {
  switch (policy.kind) {
    case 'consecutive':
      return new ConsecutiveBreaker(policy.failures);
    case 'count':
      return new CountBreaker({
        threshold: policy.threshold,
        size: policy.size,
        minimumNumberOfCalls: policy.minimumCalls,
      });
    case 'window':
      return new WindowBreaker({ ...policy, clock });
  }
}

function nameOf(state: CircuitState): CircuitStateName {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.Open:
      return 'open';
    case CircuitState.HalfOpen:
      return 'half-open';
    case CircuitState.Isolated:
      return 'isolated';
  }
}

function derivedReason(from: CircuitStateName, to: CircuitStateName): StateChangeReason {
  if (to === 'isolated') return 'isolated';
  if (to === 'half-open') return 'probe-due';
  if (to === 'open') return from === 'half-open' ? 'probe-failed' : 'failures';
  return from === 'isolated' ? 'reset' : 'probes-succeeded';
}

const noop = (): void => {};

/**
 * The open-period backoff handed to cockatiel. cockatiel checks `Date.now() - openedAt <
 * backoff.duration` before letting a probe through; this wrapper answers that check from the
 * injected clock instead (`duration` is −∞ once the probe is due by the clock, +∞ before), while
 * the durations themselves come from the configured backoff (`next()`), which cockatiel advances
 * on each re-open.
 */
class ClockedBackoff implements IBackoff<IHalfOpenAfterBackoffContext> {
  readonly #inner: IBackoffFactory<IHalfOpenAfterBackoffContext>;
  readonly #owner: HostBreaker;
  /** The last open period the backoff gave: kept when a later one is not a finite number of ms ≥ 0. */
  readonly #last: number;

  constructor(inner: IBackoffFactory<IHalfOpenAfterBackoffContext>, owner: HostBreaker, last = 0) {
    this.#inner = inner;
    this.#owner = owner;
    this.#last = last;
  }

  get duration(): number {
    return this.#owner.probeDue() ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  }

  next(context: IHalfOpenAfterBackoffContext): IBackoff<IHalfOpenAfterBackoffContext> {
    const next = this.#inner.next(context);
    const given = next.duration;
    // A duration that is not a number (a backoff that ran out) would leave the circuit closed to probes for good.
    const duration = typeof given === 'number' && Number.isFinite(given) && given >= 0 ? given : this.#last;
    this.#owner.opened(duration);
    return new ClockedBackoff(next, this.#owner, duration);
  }
}

/**
 * One key's breaker: a cockatiel `CircuitBreakerPolicy` driven with `execute()` once per attempt,
 * with the open period on the injected clock, N half-open probes with every other call rejected at
 * once, and probes whose callers went away handed over to the next caller instead of being counted.
 */
export class HostBreaker {
  readonly host: string;
  /** When the registry last handed it out (clock ms), for the idle expiry. */
  lastUsed = 0;
  readonly #options: ResolvedOptions;
  readonly #policy: CircuitBreakerPolicy;
  /** The policy's trip breaker (cockatiel's, or the window breaker): closed-state successes go to it directly. */
  readonly #trip: IBreaker;
  /** The trip breaker when it counts consecutive failures (a success at a count of 0 changes nothing). */
  readonly #consecutive: ConsecutiveBreaker | undefined;
  #state: CircuitStateName;
  #openedAt: number | undefined;
  #nextProbeAt: number | undefined;
  #opens = 0;
  /** Increases each time the circuit turns half-open. */
  #phase = 0;
  /**
   * Increases on every state change: a closed-state outcome is recorded only in the closed phase
   * its attempt started in (one that arrives after the circuit opened and closed again is stale).
   */
  #epoch = 0;
  /** cockatiel probe slots taken in this half-open phase (cockatiel's successes + failures + in flight). */
  #slotsTaken = 0;
  #freeSlots: FreeSlot[] = [];
  #lastFailure: FailureDetail | undefined;
  #pendingReason: StateChangeReason | undefined;
  #detached = false;

  constructor(host: string, options: ResolvedOptions, saved?: HostSnapshot) {
    this.host = host;
    this.#options = options;
    this.lastUsed = options.idleTtlMs === false ? 0 : (saved?.lastUsed ?? options.clock());
    const breaker = createBreaker(options.policy, options.clock);
    this.#trip = breaker;
    this.#consecutive = breaker instanceof ConsecutiveBreaker ? breaker : undefined;
    this.#policy = circuitBreaker(verdictPolicy, {
      breaker,
      halfOpenAfter: new ClockedBackoff(options.halfOpenAfter, this),
      halfOpenSampling: { calls: options.halfOpenProbes, threshold: 0 },
      ...(saved === undefined ? {} : { initialState: saved.policy }),
    });
    this.#state = nameOf(this.#policy.state);
    if (saved !== undefined && this.#state === 'open') {
      this.#openedAt = saved.openedAt;
      this.#nextProbeAt = saved.nextProbeAt;
    }
    this.#policy.onStateChange((state) => this.#changed(nameOf(state)));
  }

  /** The state (an open breaker whose probe is due reports `open` until a call comes). */
  get state(): CircuitStateName {
    return this.#state;
  }

  /** True when probes may go through: the open period is over by the clock. */
  probeDue(): boolean {
    return this.#nextProbeAt === undefined || this.#options.clock() >= this.#nextProbeAt;
  }

  /** Called by the backoff when cockatiel opens the circuit for `duration` ms. */
  opened(duration: number): void {
    this.#openedAt = this.#options.clock();
    this.#nextProbeAt = this.#openedAt + duration;
    this.#opens += 1;
  }

  /**
   * How the breaker would turn a call away now, or `undefined` when it would let it through (closed, an open
   * period over, a free half-open probe slot). Changes nothing.
   */
  turnsAway(): RejectedState | undefined {
    switch (this.#policy.state) {
      case CircuitState.Isolated:
        return 'isolated';
      case CircuitState.Open:
        return this.probeDue() ? undefined : 'open';
      case CircuitState.HalfOpen:
        return this.#freeSlots.length === 0 && this.#slotsTaken >= this.#options.halfOpenProbes
          ? 'half-open'
          : undefined;
      default:
        return undefined;
    }
  }

  /** The error a call turned away in `state` gets (reported to `onRejected`, as the breaker's own rejections). */
  refuse(state: RejectedState, request: Request | undefined): CircuitOpenError {
    const error = new CircuitOpenError({
      host: this.host,
      state,
      nextProbeAt: state === 'open' ? this.#nextProbeAt : undefined,
      now: this.#options.clock(),
      request,
    });
    emit(this.#options.onRejected, { host: this.host, state, error, request });
    return error;
  }

  /**
   * Runs one attempt through the breaker: `attempt` is called only when the breaker admits it.
   * `consumer`: the tier above that reads the response body inside the attempt (the body hand-off),
   * if any: the outcome of a successful head is then recorded when the body has been read (see
   * `#runClosed`), a half-open probe's too (its slot stays taken until then).
   */
  run(
    request: Request | undefined,
    signal: AbortSignal | null | undefined,
    attempt: () => Promise<Response>,
    consumer?: BodyConsumer,
  ): Promise<Response> {
    const policy = this.#policy;
    switch (policy.state) {
      case CircuitState.Isolated:
        return this.#reject('isolated', request);
      case CircuitState.Open:
        if (!this.probeDue()) return this.#reject('open', request);
        break;
      case CircuitState.HalfOpen: {
        const slot = this.#freeSlots.shift();
        if (slot !== undefined) return this.#takeOver(slot, request, signal, attempt, consumer);
        if (this.#slotsTaken >= this.#options.halfOpenProbes) return this.#reject('half-open', request);
        break;
      }
      case CircuitState.Closed:
        return this.#runClosed(policy, request, signal, attempt, consumer);
    }
    return new Promise<Response>((resolve, reject) => {
      let delivered: (() => void) | undefined;
      const execution = policy.execute(() => {
        const probe = policy.state === CircuitState.HalfOpen;
        if (probe) this.#slotsTaken += 1;
        const phase = this.#phase;
        const started = this.#start();
        return call(attempt).then(
          (response): Verdict | Promise<Verdict> => {
            const verdict = this.#responseVerdict(response, request, started);
            if (verdict !== SUCCESS || consumer === undefined || response.body === null) {
              delivered = () => resolve(response);
              return verdict;
            }
            // The tier above reads the body once it has the response: the response goes up now,
            // and the probe is decided when its body has been read (or handed out unread).
            resolve(response);
            return new Promise<Verdict>((settle) => {
              this.#afterBody(consumer, response, request, started, signal, (outcome) => {
                if (outcome !== undefined) settle(outcome);
                else if (!probe) settle(Promise.reject(UNCOUNTED));
                else
                  settle(
                    new Promise<Verdict>((free) => this.#free({ phase, settle: free, recorded: execution })),
                  );
              });
            });
          },
          (error: unknown): Verdict | Promise<Verdict> => {
            delivered = () => reject(error);
            const verdict = this.#errorVerdict(error, request, started, signal);
            if (verdict !== undefined) return verdict;
            if (!probe) throw UNCOUNTED;
            // A probe that decides nothing: its caller gets the error now, and the slot stays open
            // in cockatiel until the next caller's outcome settles it.
            reject(error);
            return new Promise<Verdict>((settle) => {
              this.#free({ phase, settle, recorded: execution });
            });
          },
        );
      });
      execution.then(
        () => delivered?.(),
        (error: unknown) => {
          if (delivered !== undefined) {
            delivered();
          } else {
            reject(this.#refusal(error, request));
          }
        },
      );
    });
  }

  /**
   * The closed state's path. The attempt runs outside cockatiel's `execute()`. A counted failure goes
   * through `execute()` (with the verdict as the result), which opens the circuit when the trip breaker
   * says so; a success goes straight to the trip breaker, which is all cockatiel's closed state does
   * with one (for the consecutive policy, only after failures: a success at a count of 0 changes
   * nothing). The caller gets the outcome after it has been recorded, so a failure that opens the
   * circuit has opened it when the caller sees it. An outcome that arrives after the circuit left the
   * closed state is not recorded: only a probe decides a half-open circuit, and the counts start over
   * when it closes again.
   *
   * A successful head whose body a tier above reads inside the attempt (`consumer`, the body
   * hand-off: the retry tier's buffering) is not a success yet: the outcome is recorded when the body
   * has been read, so a connection lost or an attempt timeout while the body arrives counts as the
   * failure it is (with the same classification as an error before the head). A body that tier hands
   * out unread instead (`BodyWatcher.exposed`) is a success at once, as without a hand-off.
   */
  #runClosed(
    policy: CircuitBreakerPolicy,
    request: Request | undefined,
    signal: AbortSignal | null | undefined,
    attempt: () => Promise<Response>,
    consumer: BodyConsumer | undefined,
  ): Promise<Response> {
    const started = this.#start();
    const epoch = this.#epoch;
    return call(attempt).then(
      (response) => {
        const verdict = this.#responseVerdict(response, request, started);
        if (verdict === SUCCESS) {
          if (consumer === undefined || response.body === null) {
            this.#closedSuccess(policy, epoch);
          } else {
            this.#afterBody(consumer, response, request, started, signal, (outcome) => {
              if (outcome === SUCCESS) this.#closedSuccess(policy, epoch);
              else if (outcome !== undefined) void this.#record(policy, outcome, epoch);
            });
          }
          return response;
        }
        return this.#record(policy, verdict, epoch).then(() => response);
      },
      (error: unknown) => {
        const verdict = this.#errorVerdict(error, request, started, signal);
        if (verdict === undefined) throw error;
        return this.#record(policy, verdict, epoch).then(() => {
          throw error;
        });
      },
    );
  }

  /**
   * Waits for the body of a successful head that `consumer` reads inside the attempt, then calls
   * `decide` once: `SUCCESS` when the body has been read or is handed out unread (`exposed`), the
   * failure when it failed with an error that counts, `undefined` for one that does not (a caller's
   * abort, a body-idle timeout).
   */
  #afterBody(
    consumer: BodyConsumer,
    response: Response,
    request: Request | undefined,
    started: number | undefined,
    signal: AbortSignal | null | undefined,
    decide: (outcome: Verdict | undefined) => void,
  ): void {
    let settled = false;
    const settle = (error: unknown, read: boolean): void => {
      if (settled) return;
      settled = true;
      if (error !== undefined) decide(this.#errorVerdict(error, request, started, signal));
      else decide(read ? this.#readVerdict(response.status, started) : SUCCESS);
    };
    consumer.watch(response, {
      exposed: () => settle(undefined, false),
      end: (error?: unknown) => settle(error, true),
    });
  }

  /**
   * The verdict on a successful head whose body was read inside the attempt: a slow call when head and
   * body together took `slowCallMs` or longer (the call is the whole exchange, as resilience4j times the
   * whole decorated call), else a success.
   */
  #readVerdict(status: number, started: number | undefined): Verdict {
    if (this.#options.slowCallMs === false || started === undefined) return SUCCESS;
    return this.#speedVerdict(status, this.#options.clock() - started);
  }

  /**
   * A success of the closed state, given straight to the trip breaker (all cockatiel's closed state
   * does with one; for the consecutive policy, only after failures: a success at a count of 0
   * changes nothing). Not recorded once the circuit has left the closed state of `epoch`.
   */
  #closedSuccess(policy: CircuitBreakerPolicy, epoch: number): void {
    const consecutive = this.#consecutive;
    if (this.#closedIn(policy, epoch) && (consecutive === undefined || consecutive.state !== 0)) {
      this.#trip.success(CircuitState.Closed);
    }
  }

  /**
   * Records a verdict of the closed state of `epoch` in cockatiel (an `execute()` whose result is the
   * verdict); not once the circuit has left it.
   */
  #record(policy: CircuitBreakerPolicy, verdict: Verdict, epoch: number): Promise<unknown> {
    if (!this.#closedIn(policy, epoch)) return Promise.resolve();
    return policy.execute(() => verdict).catch(noop);
  }

  /** True while the circuit is still in the closed phase `epoch` (it has not opened since). */
  #closedIn(policy: CircuitBreakerPolicy, epoch: number): boolean {
    return policy.state === CircuitState.Closed && this.#epoch === epoch;
  }

  /** The verdict on an attempt's response: a failure, or success. */
  #responseVerdict(response: Response, request: Request | undefined, started: number | undefined): Verdict {
    return this.#judge(this.#outcome('response', response, request, started)) ?? SUCCESS;
  }

  /** The verdict on an attempt's error: `undefined` when it does not count (the caller's abort among them). */
  #errorVerdict(
    error: unknown,
    request: Request | undefined,
    started: number | undefined,
    signal: AbortSignal | null | undefined,
  ): Verdict | undefined {
    return signal?.aborted ? undefined : this.#judge(this.#outcome('error', error, request, started));
  }

  #start(): number | undefined {
    return this.#options.slowCallMs === false && this.#options.isFailure === undefined
      ? undefined
      : this.#options.clock();
  }

  /** Holds the circuit open until {@link reset}. */
  isolate(): void {
    if (this.#policy.state === CircuitState.Isolated) return;
    this.#pendingReason = 'isolated';
    try {
      this.#policy.isolate();
    } finally {
      this.#pendingReason = undefined;
    }
  }

  /** Stops events and releases free probe slots: the registry dropped this breaker. */
  detach(): void {
    this.#detached = true;
    this.#releaseFreeSlots();
  }

  /** The breaker's state for `describe(host)`. */
  info(): HostBreakerInfo {
    const open = this.#state === 'open' || this.#state === 'half-open';
    return {
      host: this.host,
      state: this.#state,
      openedAt: open ? this.#openedAt : undefined,
      nextProbeAt: this.#state === 'open' ? this.#nextProbeAt : undefined,
      opens: this.#opens,
      probesInFlight: this.#state === 'half-open' ? this.#slotsTaken - this.#freeSlots.length : 0,
      lastFailure: this.#lastFailure,
    };
  }

  /** The breaker's state for a snapshot. */
  snapshot(): HostSnapshot {
    const state = this.#state;
    const open = state === 'open' || state === 'half-open';
    let policy = this.#policy.toJSON() as { ownState: { attemptNo?: unknown } };
    const attemptNo = policy.ownState.attemptNo;
    if (state === 'half-open' && typeof attemptNo === 'number' && attemptNo > 1) {
      // cockatiel saves a half-open circuit as open with the half-open phase's attempt number, one
      // backoff step past the open period it came from: a restored breaker would re-open for the
      // step after next. Saved with the open period's number, it re-opens as the original would.
      policy = { ...policy, ownState: { ...policy.ownState, attemptNo: attemptNo - 1 } };
    }
    return {
      host: this.host,
      state,
      openedAt: open ? this.#openedAt : undefined,
      // A half-open breaker comes back open with its probe due at once (as cockatiel restores it).
      nextProbeAt:
        state === 'open' ? this.#nextProbeAt : state === 'half-open' ? this.#options.clock() : undefined,
      policy,
      ...(this.#options.idleTtlMs === false || state === 'isolated' ? {} : { lastUsed: this.lastUsed }),
    };
  }

  /**
   * A caller admitted on a free probe slot: its outcome settles the slot. A successful head whose
   * body a tier above reads inside the attempt (`consumer`) settles it when the body has been read
   * (or handed out unread), as the probe that took the slot first would have been decided.
   */
  #takeOver(
    slot: FreeSlot,
    request: Request | undefined,
    signal: AbortSignal | null | undefined,
    attempt: () => Promise<Response>,
    consumer: BodyConsumer | undefined,
  ): Promise<Response> {
    const started = this.#start();
    const hand = (verdict: Verdict | undefined): Promise<unknown> => {
      if (verdict !== undefined || slot.phase !== this.#phase) {
        slot.settle(verdict ?? STALE);
        return slot.recorded.then(noop, noop);
      }
      this.#free(slot);
      return Promise.resolve();
    };
    return call(attempt).then(
      (response) => {
        const verdict = this.#responseVerdict(response, request, started);
        if (verdict !== SUCCESS || consumer === undefined || response.body === null) {
          return hand(verdict).then(() => response);
        }
        this.#afterBody(consumer, response, request, started, signal, (outcome) => void hand(outcome));
        return response;
      },
      (error: unknown) => {
        const verdict = this.#errorVerdict(error, request, started, signal);
        return hand(verdict).then(() => Promise.reject(error));
      },
    );
  }

  #free(slot: FreeSlot): void {
    if (slot.phase === this.#phase && this.#state === 'half-open' && !this.#detached) {
      this.#freeSlots.push(slot);
    } else {
      slot.settle(STALE);
    }
  }

  #releaseFreeSlots(): void {
    const slots = this.#freeSlots;
    this.#freeSlots = [];
    for (const slot of slots) slot.settle(STALE);
  }

  #outcome(
    type: 'response' | 'error',
    value: unknown,
    request: Request | undefined,
    started: number | undefined,
  ): CallOutcome {
    const durationMs = started === undefined ? 0 : this.#options.clock() - started;
    return type === 'response'
      ? { type, response: value as Response, host: this.host, request, durationMs }
      : { type, error: value, host: this.host, request, durationMs };
  }

  /** A failure, a success, or `undefined` for an outcome that must not count. */
  #judge(outcome: CallOutcome): Verdict | undefined {
    let decided: boolean | undefined;
    try {
      decided = this.#options.isFailure?.(outcome);
    } catch (error) {
      // A bug in isFailure must not leave a probe slot taken: report it, classify by default.
      queueMicrotask(() => {
        throw error;
      });
    }
    const failed = decided ?? defaultIsFailure(outcome);
    if (outcome.type === 'error') {
      if (!failed) return undefined;
      this.#lastFailure = { kind: 'error', error: outcome.error };
      return { failed: true, detail: this.#lastFailure };
    }
    const status = outcome.response.status;
    if (failed) {
      this.#lastFailure = { kind: 'status', status };
      return { failed: true, detail: this.#lastFailure };
    }
    return this.#speedVerdict(status, outcome.durationMs);
  }

  /** A slow call (a failure) when `durationMs` is `slowCallMs` or more, else a success. */
  #speedVerdict(status: number, durationMs: number): Verdict {
    const slow = this.#options.slowCallMs;
    if (slow === false || durationMs < slow) return SUCCESS;
    this.#lastFailure = { kind: 'slow', status, durationMs };
    return { failed: true, detail: this.#lastFailure };
  }

  #reject(state: RejectedState, request: Request | undefined): Promise<never> {
    return Promise.reject(this.refuse(state, request));
  }

  /** Maps cockatiel's own refusals (a race with a state change) to a `CircuitOpenError`. */
  #refusal(error: unknown, request: Request | undefined): unknown {
    const state: RejectedState | undefined = isBrokenCircuitError(error)
      ? 'open'
      : isIsolatedCircuitError(error)
        ? 'isolated'
        : undefined;
    return state === undefined ? error : this.refuse(state, request);
  }

  #changed(to: CircuitStateName): void {
    const from = this.#state;
    this.#state = to;
    this.#epoch += 1;
    if (from === 'half-open') this.#releaseFreeSlots();
    if (to === 'half-open') {
      this.#phase += 1;
      this.#slotsTaken = 0;
    }
    if (to === 'closed') {
      this.#openedAt = undefined;
      this.#nextProbeAt = undefined;
      this.#opens = 0;
    }
    if (this.#detached || from === to) return;
    emit(this.#options.onStateChange, {
      host: this.host,
      from,
      to,
      reason: this.#pendingReason ?? derivedReason(from, to),
      at: this.#options.clock(),
      nextProbeAt: to === 'open' ? this.#nextProbeAt : undefined,
      lastFailure: this.#lastFailure,
    });
  }
}

function call(attempt: () => Promise<Response>): Promise<Response> {
  try {
    return attempt();
  } catch (error) {
    return Promise.reject(error);
  }
}

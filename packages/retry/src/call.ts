import { type Backoff, createBackoff } from '@ky-resilience/jitter';
import {
  type BodyConsumer,
  type BodyHandle,
  type BodyHandoff,
  type BodyWatcher,
  bodyHandoffKey,
} from './body-handoff.ts';
import { BodyTap } from './body-tap.ts';
import { isBudgetFailure, isIdle } from './budget.ts';
import { bufferResponse, keptAsReceived } from './buffer-body.ts';
import { classifyFailure, type Failure, failureLabel } from './classify.ts';
import { annotateError, type RetryDecision, type RetryDecisionReason } from './decision.ts';
import { RetryAfterTooLongError, RetryBudgetExhaustedError, RetryOptionsError } from './errors.ts';
import type { DelaySource } from './events.ts';
import type { RetrySettings, RetryShared } from './options.ts';
import { parseServerDelay } from './retry-after.ts';
import { safetyVerdict } from './safety.ts';

/** A fetch function as ky calls it. */
export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/**
 * The per-call state of the retry plugin: one per ky call, created by the `init` hook. A class
 * rather than closures: a call in flight then holds one object instead of a dozen functions (what a
 * call retains costs the most in the garbage collector's young generation when many calls are in
 * flight). What only a failure needs (the request's host, its idempotency key when the method is
 * idempotent, the backoff, the decisions) is worked out on the first failure.
 */
export class RetryCall {
  readonly #settings: RetrySettings;
  readonly #shared: RetryShared;
  /** The fetch function the call's attempts go through. */
  readonly #inner: FetchLike;
  /** The caller's signal, to tell a caller's abort from everything else. */
  readonly #signal: AbortSignal | undefined;
  readonly #deadline: number | undefined;
  /** The decisions taken on this call's failures (made on the first failure: a success needs none). */
  #decisions: WeakMap<object, RetryDecision> | undefined;
  #attempts = 0;
  /** The first attempt's request: the host and the idempotency key are read from it when needed. */
  #request: Request | undefined;
  /** The budget key; `undefined` until it is needed. */
  #host: string | undefined;
  /** The method, upper-case: ky's option until the first attempt, then the request's. */
  #method: string;
  #idempotencyKey: string | undefined;
  /** True once `#idempotencyKey` is known (read from the first request, or generated). */
  #keyKnown = false;
  #pendingDelay: number | undefined;
  /** The backoff delay `takeDelay` gave ky for a forced retry (none was pending), for its report. */
  #forcedDelay: number | undefined;
  /** The last attempt that handed ky a response (0: none). */
  #respondedAt = 0;
  /** ky's retry count of the forced retry last reported, and the call's give-up (each reported once). */
  #forcedAt = -1;
  #gaveUp: { readonly error: Error; readonly decision: RetryDecision } | undefined;
  #backoff: Backoff | undefined;
  readonly #budget: RetryShared['budget'] | undefined;
  /** The last attempt whose outcome the budget has seen (each attempt counts once). */
  #accounted = 0;
  /** True when the body is a one-shot stream (ky's retry limit is then 0). */
  readonly oneShotBody: boolean;
  /** The retries ky may make for this call (set once the call is wired). */
  limit: number = Number.POSITIVE_INFINITY;
  /**
   * ky's own per-attempt `timeout` (`false` with the timeout plugin, which turns it off): when it is off,
   * or longer than what was left of the total when the attempt started, a ky `TimeoutError` is the total's.
   */
  readonly #kyTimeout: number | false;
  /** True when ky's `TimeoutError` for the current attempt can only be the total timeout. */
  #kyTimeoutIsTotal = false;

  /**
   * @param method the method from ky's options (upper- or lower-case); the request's own wins once known.
   * @param totalTimeout ky's `totalTimeout` for this call, if any.
   */
  constructor(
    settings: RetrySettings,
    shared: RetryShared,
    inner: FetchLike,
    method: string,
    oneShotBody: boolean,
    signal: AbortSignal | undefined,
    totalTimeout: number | false | undefined,
    kyTimeout: number | false | undefined = undefined,
  ) {
    this.#kyTimeout = kyTimeout ?? 10_000;
    // ky's timeout off (the timeout plugin turns it off): a ky TimeoutError can only be the total's.
    this.#kyTimeoutIsTotal = this.#kyTimeout === false;
    this.#settings = settings;
    this.#shared = shared;
    this.#inner = inner;
    this.#signal = signal;
    this.#deadline = typeof totalTimeout === 'number' ? shared.clock() + totalTimeout : undefined;
    this.#method = method.toUpperCase();
    this.#budget = settings.useBudget ? shared.budget : undefined;
    this.oneShotBody = oneShotBody;
  }

  /**
   * Whether ky's `TimeoutError` is its total timeout: its own timeout is off, or was longer than what was
   * left of the total when the attempt started, or the call's deadline has passed (a timeout between
   * attempts, or while a body is read after the attempt).
   */
  #kyTimeoutIsTotalNow(): boolean {
    if (this.#kyTimeoutIsTotal) return true;
    const left = this.#remaining();
    return left !== undefined && left <= 0;
  }

  /** Attempts made so far. */
  get attempts(): number {
    return this.#attempts;
  }

  /** The host of the call's request (the budget key and the events' `host`), `''` before any attempt. */
  #hostName(): string {
    this.#host ??= this.#request === undefined ? '' : hostOf(this.#request.url);
    return this.#host;
  }

  /** The call's idempotency key: the first request's header, else a generated one (non-idempotent methods). */
  #key(): string | undefined {
    if (this.#keyKnown) return this.#idempotencyKey;
    this.#keyKnown = true;
    const settings = this.#settings;
    const request = this.#request;
    let key = request === undefined ? undefined : request.headers.get(settings.idempotencyHeader);
    // An empty header is no key: the server has nothing to deduplicate by.
    if (key === null || key?.trim() === '') key = undefined;
    if (
      key === undefined &&
      request !== undefined &&
      settings.generateIdempotencyKey !== undefined &&
      !settings.idempotentMethods.includes(this.#method)
    ) {
      key = generateKey(settings.generateIdempotencyKey);
    }
    this.#idempotencyKey = key;
    return key;
  }

  #remember(error: object, decision: RetryDecision): void {
    this.#decisions ??= new WeakMap();
    this.#decisions.set(error, decision);
  }

  /** Records a failed attempt's outcome in the budget, once per attempt (before the retry is asked for). */
  #accountFailure(failure: Failure): void {
    if (this.#budget === undefined || this.#attempts <= this.#accounted) return;
    this.#accounted = this.#attempts;
    if (isBudgetFailure(failure, this.#settings)) this.#budget.recordFailure(this.#hostName());
  }

  #nextBackoff(): number {
    const { backoff } = this.#settings;
    this.#backoff ??= createBackoff(backoff.strategy, {
      base: backoff.base,
      factor: backoff.factor,
      cap: backoff.cap,
      random: this.#shared.random,
    });
    return this.#backoff.next();
  }

  #remaining(): number | undefined {
    return this.#deadline === undefined ? undefined : this.#deadline - this.#shared.clock();
  }

  #decide(error: unknown, failure: Failure, retry: boolean, reason: RetryDecisionReason): RetryDecision {
    const decision: RetryDecision = {
      retry,
      reason,
      failure: failureLabel(failure),
      attempts: this.#attempts,
    };
    if (typeof error === 'object' && error !== null) {
      this.#remember(error, decision);
    }
    return decision;
  }

  /** Why a failure may not be retried, before any delay is computed; `undefined` when it may. */
  #refusal(failure: Failure): RetryDecisionReason | undefined {
    const settings = this.#settings;
    switch (failure.kind) {
      case 'aborted':
        return 'aborted';
      case 'status':
        if (!settings.statusCodes.includes(failure.status)) return 'status-not-retryable';
        break;
      case 'network':
        if (!settings.errorCodes.includes(failure.code)) return 'error-not-retryable';
        break;
      case 'timeout':
        if (failure.phase === 'total') return 'total-timeout';
        if (!settings.timeoutPhases.includes(failure.phase)) return 'error-not-retryable';
        break;
      case 'other':
        return 'error-not-retryable';
      case 'forced':
        // ky gives a forced retry up only at its limit (a total timeout in its sleep is ky's TimeoutError).
        return 'limit-reached';
    }
    const unsafe = safetyVerdict(failure, {
      method: this.#method,
      idempotentMethods: settings.idempotentMethods,
      hasIdempotencyKey: this.#key() !== undefined,
      oneShotBody: this.oneShotBody,
    });
    if (unsafe !== undefined) {
      return unsafe;
    }
    const left = this.#remaining();
    return left !== undefined && left <= 0 ? 'total-timeout' : undefined;
  }

  /**
   * True when the caller aborted the call. A `Request` given to ky as its input carries the caller's
   * signal, which ky's options do not show: the first attempt's request follows it (through ky's own
   * signal), and its reason is the error an abort rejects with. ky aborts that signal on its own
   * timeouts too, but then with a reason of its own while the attempt fails with ky's `TimeoutError`.
   */
  #isAborted(error: unknown): boolean {
    const caller = this.#signal;
    if (caller !== undefined) return caller.aborted;
    const first = this.#request?.signal;
    return first?.aborted === true && error === first.reason;
  }

  /**
   * Runs one attempt (ky calls the call's fetch once per attempt). Not an async function: the
   * attempt's promise is the one `inner` returns, continued once by {@link #received} (an async
   * function and its await cost a few hundred bytes more per attempt). It never throws: whatever
   * goes wrong before `inner` answers rejects the promise it returns, as an async function's would.
   */
  fetch(input: Request | string | URL, requestInit?: RequestInit): Promise<Response> {
    const attempt = ++this.#attempts;
    const kyTimeout = this.#kyTimeout;
    if (kyTimeout !== false && this.#deadline !== undefined) {
      // ky bounds the attempt by the smaller of its timeout and what is left of the total.
      const left = this.#remaining() as number;
      this.#kyTimeoutIsTotal = left <= kyTimeout;
    }
    let handoff: AttemptHandoff | undefined;
    let pending: Promise<Response>;
    try {
      this.#prepare(input, attempt);
      const inner = this.#inner;
      // The tiers below (host limiter, timeouts) leave their body work to this attempt's hand-off.
      handoff = new AttemptHandoff(inner);
      const forwarded: RequestInit = { ...requestInit };
      // Without a signal in ky's options (a `Request` input may carry one), a retry follows the first
      // attempt's request, which this call holds: its signal follows the caller's until ky's own
      // timeout aborts it (then it is left out).
      const first = this.#request?.signal;
      const caller = this.#signal ?? (attempt > 1 && first?.aborted === false ? first : undefined);
      if (caller !== undefined) forwarded.signal = withCallerSignal(input, requestInit, caller);
      (forwarded as Record<symbol, BodyHandoff>)[bodyHandoffKey] = handoff;
      pending = Promise.resolve(inner(input, forwarded));
    } catch (error) {
      handoff?.tap?.abandon(error);
      return Promise.reject(error);
    }
    handoff.sent(pending);
    const sent = handoff;
    return pending.then((response) => this.#received(response, sent, attempt));
  }

  /** Sets up the request of an attempt: the first one's facts, the idempotency and attempt headers. */
  #prepare(input: Request | string | URL, attempt: number): void {
    const settings = this.#settings;
    if (attempt === 1) {
      if (input instanceof Request) this.#request = input;
      if (input instanceof Request) this.#method = input.method.toUpperCase();
      // A non-idempotent request gets its key (read or generated) before it is sent; an idempotent
      // one needs it only if it is retried.
      if (!settings.idempotentMethods.includes(this.#method)) this.#key();
    }
    if (input instanceof Request) {
      // ky hands each retry a clone made before the previous attempt: set the headers every time.
      const key = attempt === 1 ? this.#idempotencyKey : this.#key();
      if (key !== undefined && input.headers.get(settings.idempotencyHeader) !== key) {
        input.headers.set(settings.idempotencyHeader, key);
      }
      if (settings.attemptHeader !== undefined) {
        input.headers.set(settings.attemptHeader, String(attempt));
      }
    }
  }

  /** An attempt's response: its body kept, buffered or handed out once for the tiers below; then accounted. */
  #received(response: Response, handoff: AttemptHandoff, attempt: number): Response | Promise<Response> {
    const settings = this.#settings;
    const tap = handoff.tap;
    const tapped = tap?.holds(response) ? tap : undefined;
    if (settings.bufferBody && this.#method !== 'HEAD') {
      if (!keptAsReceived(response, settings.maxBufferSize, tapped)) {
        return bufferResponse(response, settings.maxBufferSize, tapped).then((buffered) =>
          this.#account(buffered, attempt),
        );
      }
    } else if (tapped !== undefined) {
      return this.#account(tapped.expose(response), attempt);
    }
    return this.#account(response, attempt);
  }

  /** A response (whole body read) is its attempt's outcome; a thrown error is accounted by shouldRetry / giveUp. */
  #account(response: Response, attempt: number): Response {
    this.#respondedAt = attempt;
    const budget = this.#budget;
    if (budget !== undefined && attempt > this.#accounted) {
      this.#accounted = attempt;
      if (this.#settings.statusCodes.includes(response.status)) budget.recordFailure(this.#hostName());
      else if (!isIdle(budget)) budget.recordSuccess(this.#hostName());
    }
    return response;
  }

  /** ky's `retry.shouldRetry`: true to retry, false not to; throws the typed budget and Retry-After errors. */
  shouldRetry(error: Error): boolean {
    const settings = this.#settings;
    const failure = classifyFailure(error, this.#isAborted(error), this.#kyTimeoutIsTotalNow());
    if (this.#attempts === 0) {
      // The call's fetch failed before reaching this tier's (a wrapper outside it refused the call).
      this.#decide(error, failure, false, notAttemptedReason(failure));
      return false;
    }
    this.#accountFailure(failure);
    const refused = this.#refusal(failure);
    if (refused !== undefined) {
      this.#decide(error, failure, false, refused);
      return false;
    }

    let delay: number | undefined;
    let source: DelaySource = 'backoff';
    if (failure.kind === 'status' && settings.afterStatusCodes.includes(failure.status)) {
      const server = parseServerDelay(failure.headers, this.#shared.now());
      if (server !== undefined) {
        if (server.delay > settings.maxRetryAfter) {
          this.#decide(error, failure, false, 'retry-after-too-long');
          throw this.#tooLong(error, failure, server.delay, settings.maxRetryAfter, 'maxRetryAfter');
        }
        delay = server.delay;
        source = 'retry-after';
      }
    }
    delay ??= this.#nextBackoff();

    const left = this.#remaining();
    if (left !== undefined && delay >= left) {
      // Never sleep past the total timeout: give up now rather than park the caller until it fires.
      if (source === 'retry-after') {
        this.#decide(error, failure, false, 'retry-after-too-long');
        throw this.#tooLong(error, failure, delay, Math.max(0, left), 'totalTimeout');
      }
      this.#decide(error, failure, false, 'total-timeout');
      return false;
    }

    const budget = this.#budget;
    if (budget !== undefined && !budget.allowsRetry(this.#hostName())) {
      this.#decide(error, failure, false, 'budget-exhausted');
      const { tokens, threshold, capacity } = budget.state(this.#hostName());
      const exhausted = new RetryBudgetExhaustedError({
        host: this.#hostName(),
        attempts: this.#attempts,
        tokens,
        threshold,
        capacity,
        cause: error,
      });
      this.#remember(exhausted, {
        retry: false,
        reason: 'budget-exhausted',
        failure: failureLabel(failure),
        attempts: this.#attempts,
      });
      throw exhausted;
    }

    this.#pendingDelay = delay;
    this.#decide(error, failure, true, 'retry');
    settings.onRetry?.({
      host: this.#hostName(),
      attempt: this.#attempts + 1,
      delay,
      reason: failureLabel(failure),
      delaySource: source,
      error,
    });
    return true;
  }

  /** ky's `retry.delay`: the delay `shouldRetry` settled on (or the next backoff delay for a forced retry). */
  takeDelay(): number {
    const pending = this.#pendingDelay;
    if (pending !== undefined) {
      this.#pendingDelay = undefined;
      return pending;
    }
    // A forced retry (ky asks for a delay without asking shouldRetry): the next backoff delay.
    const delay = this.#nextBackoff();
    this.#forcedDelay = delay;
    return delay;
  }

  /**
   * ky's `beforeRetry`, for a retry forced by an `afterResponse` hook (`ky.retry()`, a `ForceRetryError`):
   * reports it to `onRetry`, once ky has slept (the plugin learns of it only then). Its delay is the
   * hook's own (`delaySource: 'hook'`) or the backoff delay `takeDelay` gave; its reason is `'forced'`,
   * or `'forced: <code>'` with the hook's code.
   */
  forcedRetry(
    error: Error & { readonly customDelay?: number | undefined; readonly code?: string | undefined },
    retryCount: number,
    request: Request,
  ): void {
    // ky runs the hook once per `beforeRetry` entry: the plugin installed twice hears it twice.
    if (this.#forcedAt === retryCount) return;
    this.#forcedAt = retryCount;
    const custom = error.customDelay;
    const delay = custom ?? this.#forcedDelay ?? 0;
    this.#forcedDelay = undefined;
    if (this.#hostName() === '') this.#host = hostOf(request.url);
    try {
      this.#settings.onRetry?.({
        host: this.#hostName(),
        attempt: this.#attempts + 1,
        delay,
        reason: error.code === undefined || error.code === '' ? 'forced' : `forced: ${error.code}`,
        delaySource: custom === undefined ? 'backoff' : 'hook',
        error,
      });
    } catch (thrown) {
      // ky rejects the call with what a `beforeRetry` hook throws, without running `beforeError`: give up here,
      // as a throwing `onRetry` of a retry the plugin decided does (through `beforeError`).
      if (thrown instanceof Error) this.giveUp(thrown, request);
      throw thrown;
    }
  }

  /** ky's `beforeError`: annotates the final error with the decision and emits `onGiveUp`. */
  giveUp(error: Error, request: Request | undefined): Error {
    const given = this.#gaveUp;
    if (given !== undefined) {
      // Run again (the plugin installed twice): reported once; an error a hook in between replaced gets the
      // same decision.
      if (given.error !== error) annotateError(error, given.decision);
      return error;
    }
    let decision = this.#decisions?.get(error);
    if (decision === undefined || decision.retry) {
      const failure = classifyFailure(error, this.#isAborted(error), this.#kyTimeoutIsTotalNow());
      // ky gives up without asking shouldRetry once the limit is reached: the last failure counts here.
      this.#accountFailure(failure);
      decision = {
        retry: false,
        reason: this.#giveUpReason(failure),
        failure: failureLabel(failure),
        attempts: this.#attempts,
      };
    }
    this.#gaveUp = { error, decision };
    annotateError(error, decision);
    if (this.#hostName() === '' && request !== undefined) {
      this.#host = hostOf(request.url);
    }
    this.#settings.onGiveUp?.({ host: this.#hostName(), attempts: this.#attempts, error, decision });
    return error;
  }

  /** Why ky gave up without asking `shouldRetry` (or after it said retry). */
  #giveUpReason(failure: Failure): RetryDecisionReason {
    if (this.#attempts === 0) return notAttemptedReason(failure);
    if (this.#afterResponse(failure)) return 'after-response';
    // Below the limit, ky refused on its own: its method check, for a method it was not told of (a
    // `Request` input with a method outside ky's list).
    return this.#refusal(failure) ?? (this.#attempts > this.limit ? 'limit-reached' : 'method-not-retried');
  }

  /**
   * True when the call's last attempt handed ky its response and a network failure or a timeout came
   * after it: reading a body handed out unbuffered. ky does not retry a body read.
   */
  #afterResponse(failure: Failure): boolean {
    if (this.#respondedAt !== this.#attempts) return false;
    return failure.kind === 'network' || (failure.kind === 'timeout' && failure.phase !== 'total');
  }

  #tooLong(
    error: Error,
    failure: Failure,
    requested: number,
    limit: number,
    limitName: 'maxRetryAfter' | 'totalTimeout',
  ): RetryAfterTooLongError {
    const typed = new RetryAfterTooLongError({
      host: this.#hostName(),
      requested,
      limit,
      limitName,
      attempts: this.#attempts,
      cause: error,
    });
    this.#remember(typed, {
      retry: false,
      reason: 'retry-after-too-long',
      failure: failureLabel(failure),
      attempts: this.#attempts,
    });
    return typed;
  }
}

/**
 * The reason for a call that failed before any attempt of the retry tier: the caller's abort and the total
 * timeout keep their own reasons; anything else (a `beforeRequest` hook, an outer wrapper's refusal) is
 * `not-attempted`.
 */
function notAttemptedReason(failure: Failure): RetryDecisionReason {
  if (failure.kind === 'aborted') return 'aborted';
  if (failure.kind === 'timeout' && failure.phase === 'total') return 'total-timeout';
  return 'not-attempted';
}

/**
 * The signal of an attempt's `init` when the caller gave one: the attempt's own signal and the
 * caller's. ky hands a retry a clone of a clone of its first Request, and a cloned Request's signal
 * follows its source only through weak references: once the earlier Requests are garbage-collected,
 * a caller's abort no longer reaches the attempt (measured on Node 22, 24 and 26: the call hangs
 * until the attempt ends by itself). The caller's own signal, passed directly, always does.
 */
function withCallerSignal(
  input: Request | string | URL,
  requestInit: RequestInit | undefined,
  caller: AbortSignal,
): AbortSignal {
  const current = requestInit?.signal ?? (input instanceof Request ? input.signal : undefined);
  return current === undefined || current === null ? caller : AbortSignal.any([current, caller]);
}

/**
 * One attempt's body hand-off (`body-handoff.ts`), addressed to the fetch function the attempt
 * calls, and its consumer: the tap that takes over the body is made only when a tier below
 * registers a watcher (none do on a call without them).
 */
class AttemptHandoff implements BodyHandoff, BodyConsumer {
  readonly consumer: BodyConsumer = this;
  readonly to: FetchLike;
  tap: BodyTap | undefined;
  /** The attempt's promise, once `to` has returned it. */
  #pending: Promise<Response> | undefined;

  constructor(to: FetchLike) {
    this.to = to;
  }

  watch(response: Response, watcher: BodyWatcher): BodyHandle {
    if (this.tap === undefined) {
      this.tap = new BodyTap();
      if (this.#pending !== undefined) this.#abandonOnFailure(this.#pending, this.tap);
    }
    return this.tap.watch(response, watcher);
  }

  /** `to` returned the attempt's promise. */
  sent(pending: Promise<Response>): void {
    this.#pending = pending;
    if (this.tap !== undefined) this.#abandonOnFailure(pending, this.tap);
  }

  /** The attempt failed after tiers below left their body work here: every watcher ends, the body is cancelled. */
  #abandonOnFailure(pending: Promise<Response>, tap: BodyTap): void {
    pending.then(undefined, (error: unknown) => tap.abandon(error));
  }
}

function generateKey(generate: () => string): string {
  const key = generate();
  if (typeof key !== 'string' || key === '' || /[\r\n\0]/.test(key)) {
    throw new RetryOptionsError(
      'generateIdempotencyKey',
      key,
      'the generator must return a non-empty header value',
    );
  }
  return key;
}

/**
 * The host (with port) of a request's URL, as `new URL(url).host` gives it. A Request's `url` is
 * already serialised by the URL parser: for http and https the host sits between `//` (after any
 * user info, whose `/` and `@` are percent-encoded) and the first `/`, so it is sliced out without
 * parsing the URL again (about a microsecond per call).
 */
export function hostOf(url: string): string {
  const start = url.startsWith('http://') ? 7 : url.startsWith('https://') ? 8 : -1;
  if (start !== -1) {
    const end = url.indexOf('/', start);
    if (end !== -1) {
      const at = url.lastIndexOf('@', end);
      return url.slice(at >= start ? at + 1 : start, end);
    }
  }
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

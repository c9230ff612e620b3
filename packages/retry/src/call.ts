import { type Backoff, createBackoff } from '@ky-resilience/jitter';
import { setHandoff } from './body-handoff.ts';
import { BodyTap } from './body-tap.ts';
import { isBudgetFailure } from './budget.ts';
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

/** What a call's state is created from (read in the `init` hook). */
export type RetryCallInit = {
  readonly settings: RetrySettings;
  readonly shared: RetryShared;
  /** The method from ky's options (upper- or lower-case); the request's own method wins once known. */
  readonly method: string;
  /** True when the body is a one-shot stream. */
  readonly oneShotBody: boolean;
  /** The caller's signal, to tell a caller's abort from everything else. */
  readonly signal: AbortSignal | undefined;
  /** ky's `totalTimeout` for this call, if any. */
  readonly totalTimeout: number | false | undefined;
};

/** The per-call state of the retry plugin: one per ky call, created by the `init` hook. */
export type RetryCall = {
  /** True when the body is a one-shot stream (ky's retry limit is then 0). */
  readonly oneShotBody: boolean;
  /** Attempts made so far. */
  readonly attempts: number;
  /** Runs one attempt through `inner` (ky calls it once per attempt). */
  fetch(inner: FetchLike, input: Request | string | URL, init?: RequestInit): Promise<Response>;
  /** ky's `retry.shouldRetry`: true to retry, false not to; throws the typed budget and Retry-After errors. */
  shouldRetry(error: Error): boolean;
  /** ky's `retry.delay`: the delay `shouldRetry` settled on (or the next backoff delay for a forced retry). */
  takeDelay(): number;
  /** ky's `beforeError`: annotates the final error with the decision and emits `onGiveUp`. */
  giveUp(error: Error, request: Request | undefined): Error;
};

/** Creates the state of one call. */
export function createRetryCall(init: RetryCallInit): RetryCall {
  return new CallState(init);
}

/**
 * The state of one call. A class rather than closures: a call in flight then holds one object
 * instead of a dozen functions (what a call retains costs the most in the garbage collector's
 * young generation when many calls are in flight).
 */
class CallState implements RetryCall {
  readonly #init: RetryCallInit;
  readonly #settings: RetrySettings;
  readonly #shared: RetryShared;
  readonly #deadline: number | undefined;
  /** The decisions taken on this call's failures (made on the first failure: a success needs none). */
  #decisions: WeakMap<object, RetryDecision> | undefined;
  #attempts = 0;
  #host = '';
  #method: string;
  #idempotencyKey: string | undefined;
  #pendingDelay: number | undefined;
  #backoff: Backoff | undefined;
  readonly #budget: RetryShared['budget'] | undefined;
  /** The last attempt whose outcome the budget has seen (each attempt counts once). */
  #accounted = 0;
  readonly oneShotBody: boolean;

  constructor(init: RetryCallInit) {
    const { settings, shared } = init;
    this.#init = init;
    this.#settings = settings;
    this.#shared = shared;
    this.#deadline = typeof init.totalTimeout === 'number' ? shared.clock() + init.totalTimeout : undefined;
    this.#method = init.method.toUpperCase();
    this.#budget = settings.useBudget ? shared.budget : undefined;
    this.oneShotBody = init.oneShotBody;
  }

  get attempts(): number {
    return this.#attempts;
  }

  #remember(error: object, decision: RetryDecision): void {
    this.#decisions ??= new WeakMap();
    this.#decisions.set(error, decision);
  }

  /** Records a failed attempt's outcome in the budget, once per attempt (before the retry is asked for). */
  #accountFailure(failure: Failure): void {
    if (this.#budget === undefined || this.#attempts <= this.#accounted) return;
    this.#accounted = this.#attempts;
    if (isBudgetFailure(failure, this.#settings)) this.#budget.recordFailure(this.#host);
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
    }
    const unsafe = safetyVerdict(failure, {
      method: this.#method,
      idempotentMethods: settings.idempotentMethods,
      hasIdempotencyKey: this.#idempotencyKey !== undefined,
      oneShotBody: this.#init.oneShotBody,
    });
    if (unsafe !== undefined) {
      return unsafe;
    }
    const left = this.#remaining();
    return left !== undefined && left <= 0 ? 'total-timeout' : undefined;
  }

  #isAborted(): boolean {
    return this.#init.signal?.aborted === true;
  }

  async fetch(inner: FetchLike, input: Request | string | URL, requestInit?: RequestInit): Promise<Response> {
    const settings = this.#settings;
    this.#attempts += 1;
    if (input instanceof Request) {
      if (this.#attempts === 1) {
        this.#host = hostOf(input.url);
        this.#method = input.method.toUpperCase();
        this.#idempotencyKey = input.headers.get(settings.idempotencyHeader) ?? undefined;
        if (
          this.#idempotencyKey === undefined &&
          settings.generateIdempotencyKey !== undefined &&
          !settings.idempotentMethods.includes(this.#method)
        ) {
          this.#idempotencyKey = generateKey(settings.generateIdempotencyKey);
        }
      }
      // ky hands each retry a clone made before the previous attempt: set the headers every time.
      if (this.#idempotencyKey !== undefined && !input.headers.has(settings.idempotencyHeader)) {
        input.headers.set(settings.idempotencyHeader, this.#idempotencyKey);
      }
      if (settings.attemptHeader !== undefined) {
        input.headers.set(settings.attemptHeader, String(this.#attempts));
      }
    }
    const attempt = this.#attempts;
    // The tiers below (host limiter, timeouts) leave their body work to this attempt's tap.
    const tap = new BodyTap();
    const forwarded = setHandoff({ ...withCallerSignal(input, requestInit, this.#init.signal) }, tap, inner);
    let response: Response;
    try {
      response = await inner(input, forwarded);
    } catch (error) {
      tap.abandon(error);
      throw error;
    }
    const tapped = tap.holds(response) ? tap : undefined;
    if (settings.bufferBody && this.#method !== 'HEAD') {
      if (!keptAsReceived(response, settings.maxBufferSize, tapped)) {
        response = await bufferResponse(response, settings.maxBufferSize, tapped);
      }
    } else if (tapped !== undefined) {
      response = tapped.expose(response);
    }
    // A response (whole body read) is this attempt's outcome; a thrown error is accounted by shouldRetry / giveUp.
    const budget = this.#budget;
    if (budget !== undefined && attempt > this.#accounted) {
      this.#accounted = attempt;
      if (settings.statusCodes.includes(response.status)) budget.recordFailure(this.#host);
      else budget.recordSuccess(this.#host);
    }
    return response;
  }

  shouldRetry(error: Error): boolean {
    const settings = this.#settings;
    const failure = classifyFailure(error, this.#isAborted());
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
    if (budget !== undefined && !budget.allowsRetry(this.#host)) {
      this.#decide(error, failure, false, 'budget-exhausted');
      const { tokens, threshold, capacity } = budget.state(this.#host);
      const exhausted = new RetryBudgetExhaustedError({
        host: this.#host,
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
      host: this.#host,
      attempt: this.#attempts + 1,
      delay,
      reason: failureLabel(failure),
      delaySource: source,
      error,
    });
    return true;
  }

  takeDelay(): number {
    const delay = this.#pendingDelay ?? this.#nextBackoff();
    this.#pendingDelay = undefined;
    return delay;
  }

  giveUp(error: Error, request: Request | undefined): Error {
    let decision = this.#decisions?.get(error);
    if (decision === undefined || decision.retry) {
      const failure = classifyFailure(error, this.#isAborted());
      // ky gives up without asking shouldRetry once the limit is reached: the last failure counts here.
      this.#accountFailure(failure);
      const refused = this.#refusal(failure);
      decision = {
        retry: false,
        reason: refused ?? 'limit-reached',
        failure: failureLabel(failure),
        attempts: this.#attempts,
      };
    }
    annotateError(error, decision);
    if (this.#host === '' && request !== undefined) {
      this.#host = hostOf(request.url);
    }
    this.#settings.onGiveUp?.({ host: this.#host, attempts: this.#attempts, error, decision });
    return error;
  }

  #tooLong(
    error: Error,
    failure: Failure,
    requested: number,
    limit: number,
    limitName: 'maxRetryAfter' | 'totalTimeout',
  ): RetryAfterTooLongError {
    const typed = new RetryAfterTooLongError({
      host: this.#host,
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
 * Adds the caller's signal to the attempt's `init`. ky hands a retry a clone of a clone of its
 * first Request, and a cloned Request's signal follows its source only through weak references:
 * once the earlier Requests are garbage-collected, a caller's abort no longer reaches the attempt
 * (measured on Node 22, 24 and 26: the call hangs until the attempt ends by itself). The caller's
 * own signal, passed directly, always does.
 */
function withCallerSignal(
  input: Request | string | URL,
  requestInit: RequestInit | undefined,
  caller: AbortSignal | undefined,
): RequestInit | undefined {
  if (caller === undefined) {
    return requestInit;
  }
  const current = requestInit?.signal ?? (input instanceof Request ? input.signal : undefined);
  const signal = current === undefined || current === null ? caller : AbortSignal.any([current, caller]);
  return { ...requestInit, signal };
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

import { type Backoff, createBackoff } from '@ky-resilience/jitter';
import { setHandoff } from './body-handoff.ts';
import { BodyTap } from './body-tap.ts';
import { isBudgetFailure } from './budget.ts';
import { bufferResponse } from './buffer-body.ts';
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
  const { settings, shared } = init;
  const deadline = typeof init.totalTimeout === 'number' ? shared.clock() + init.totalTimeout : undefined;
  // The decisions taken on this call's failures (made on the first failure: a success needs none).
  let decisions: WeakMap<object, RetryDecision> | undefined;
  const remember = (error: object, decision: RetryDecision): void => {
    decisions ??= new WeakMap();
    decisions.set(error, decision);
  };
  let attempts = 0;
  let host = '';
  let method = init.method.toUpperCase();
  let idempotencyKey: string | undefined;
  let pendingDelay: number | undefined;
  let backoff: Backoff | undefined;

  const budget = settings.useBudget ? shared.budget : undefined;
  /** The last attempt whose outcome the budget has seen (each attempt counts once). */
  let accounted = 0;

  /** Records a failed attempt's outcome in the budget, once per attempt (before the retry is asked for). */
  const accountFailure = (failure: Failure): void => {
    if (budget === undefined || attempts <= accounted) return;
    accounted = attempts;
    if (isBudgetFailure(failure, settings)) budget.recordFailure(host);
  };

  const nextBackoff = (): number => {
    backoff ??= createBackoff(settings.backoff.strategy, {
      base: settings.backoff.base,
      factor: settings.backoff.factor,
      cap: settings.backoff.cap,
      random: shared.random,
    });
    return backoff.next();
  };

  const remaining = (): number | undefined =>
    deadline === undefined ? undefined : deadline - shared.clock();

  const decide = (
    error: unknown,
    failure: Failure,
    retry: boolean,
    reason: RetryDecisionReason,
  ): RetryDecision => {
    const decision: RetryDecision = { retry, reason, failure: failureLabel(failure), attempts };
    if (typeof error === 'object' && error !== null) {
      remember(error, decision);
    }
    return decision;
  };

  /** Why a failure may not be retried, before any delay is computed; `undefined` when it may. */
  const refusal = (failure: Failure): RetryDecisionReason | undefined => {
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
      method,
      idempotentMethods: settings.idempotentMethods,
      hasIdempotencyKey: idempotencyKey !== undefined,
      oneShotBody: init.oneShotBody,
    });
    if (unsafe !== undefined) {
      return unsafe;
    }
    const left = remaining();
    return left !== undefined && left <= 0 ? 'total-timeout' : undefined;
  };

  const isAborted = (): boolean => init.signal?.aborted === true;

  return {
    oneShotBody: init.oneShotBody,
    get attempts(): number {
      return attempts;
    },

    async fetch(
      inner: FetchLike,
      input: Request | string | URL,
      requestInit?: RequestInit,
    ): Promise<Response> {
      attempts += 1;
      if (input instanceof Request) {
        if (attempts === 1) {
          host = hostOf(input.url);
          method = input.method.toUpperCase();
          idempotencyKey = input.headers.get(settings.idempotencyHeader) ?? undefined;
          if (
            idempotencyKey === undefined &&
            settings.generateIdempotencyKey !== undefined &&
            !settings.idempotentMethods.includes(method)
          ) {
            idempotencyKey = generateKey(settings.generateIdempotencyKey);
          }
        }
        // ky hands each retry a clone made before the previous attempt: set the headers every time.
        if (idempotencyKey !== undefined && !input.headers.has(settings.idempotencyHeader)) {
          input.headers.set(settings.idempotencyHeader, idempotencyKey);
        }
        if (settings.attemptHeader !== undefined) {
          input.headers.set(settings.attemptHeader, String(attempts));
        }
      }
      const attempt = attempts;
      // The tiers below (host limiter, timeouts) leave their body work to this attempt's tap.
      const tap = new BodyTap();
      const forwarded = setHandoff({ ...withCallerSignal(input, requestInit, init.signal) }, tap, inner);
      let response: Response;
      try {
        response = await inner(input, forwarded);
      } catch (error) {
        tap.abandon(error);
        throw error;
      }
      const tapped = tap.holds(response) ? tap : undefined;
      if (settings.bufferBody && method !== 'HEAD') {
        response = await bufferResponse(response, settings.maxBufferSize, tapped);
      } else if (tapped !== undefined) {
        response = tapped.expose(response);
      }
      // A response (whole body read) is this attempt's outcome; a thrown error is accounted by shouldRetry / giveUp.
      if (budget !== undefined && attempt > accounted) {
        accounted = attempt;
        if (settings.statusCodes.includes(response.status)) budget.recordFailure(host);
        else budget.recordSuccess(host);
      }
      return response;
    },

    shouldRetry(error: Error): boolean {
      const failure = classifyFailure(error, isAborted());
      accountFailure(failure);
      const refused = refusal(failure);
      if (refused !== undefined) {
        decide(error, failure, false, refused);
        return false;
      }

      let delay: number | undefined;
      let source: DelaySource = 'backoff';
      if (failure.kind === 'status' && settings.afterStatusCodes.includes(failure.status)) {
        const server = parseServerDelay(failure.headers, shared.now());
        if (server !== undefined) {
          if (server.delay > settings.maxRetryAfter) {
            decide(error, failure, false, 'retry-after-too-long');
            throw tooLong(error, failure, server.delay, settings.maxRetryAfter, 'maxRetryAfter');
          }
          delay = server.delay;
          source = 'retry-after';
        }
      }
      delay ??= nextBackoff();

      const left = remaining();
      if (left !== undefined && delay >= left) {
        // Never sleep past the total timeout: give up now rather than park the caller until it fires.
        if (source === 'retry-after') {
          decide(error, failure, false, 'retry-after-too-long');
          throw tooLong(error, failure, delay, Math.max(0, left), 'totalTimeout');
        }
        decide(error, failure, false, 'total-timeout');
        return false;
      }

      if (budget !== undefined && !budget.allowsRetry(host)) {
        decide(error, failure, false, 'budget-exhausted');
        const { tokens, threshold, capacity } = budget.state(host);
        const exhausted = new RetryBudgetExhaustedError({
          host,
          attempts,
          tokens,
          threshold,
          capacity,
          cause: error,
        });
        remember(exhausted, {
          retry: false,
          reason: 'budget-exhausted',
          failure: failureLabel(failure),
          attempts,
        });
        throw exhausted;
      }

      pendingDelay = delay;
      decide(error, failure, true, 'retry');
      settings.onRetry?.({
        host,
        attempt: attempts + 1,
        delay,
        reason: failureLabel(failure),
        delaySource: source,
        error,
      });
      return true;
    },

    takeDelay(): number {
      const delay = pendingDelay ?? nextBackoff();
      pendingDelay = undefined;
      return delay;
    },

    giveUp(error: Error, request: Request | undefined): Error {
      let decision = decisions?.get(error);
      if (decision === undefined || decision.retry) {
        const failure = classifyFailure(error, isAborted());
        // ky gives up without asking shouldRetry once the limit is reached: the last failure counts here.
        accountFailure(failure);
        const refused = refusal(failure);
        decision = {
          retry: false,
          reason: refused ?? 'limit-reached',
          failure: failureLabel(failure),
          attempts,
        };
      }
      annotateError(error, decision);
      if (host === '' && request !== undefined) {
        host = hostOf(request.url);
      }
      settings.onGiveUp?.({ host, attempts, error, decision });
      return error;
    },
  };

  function tooLong(
    error: Error,
    failure: Failure,
    requested: number,
    limit: number,
    limitName: 'maxRetryAfter' | 'totalTimeout',
  ): RetryAfterTooLongError {
    const typed = new RetryAfterTooLongError({ host, requested, limit, limitName, attempts, cause: error });
    remember(typed, {
      retry: false,
      reason: 'retry-after-too-long',
      failure: failureLabel(failure),
      attempts,
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

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}

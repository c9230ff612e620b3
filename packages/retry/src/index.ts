export type { RetryBudget, RetryBudgetOptions, RetryBudgetState } from './budget.ts';
export { createRetryBudget, defaultRetryBudgetOptions, isRetryBudget } from './budget.ts';
export { isStreamingResponse } from './buffer-body.ts';
export type { Failure } from './classify.ts';
export { classifyFailure, defaultRetryErrorCodes, notSentErrorCodes } from './classify.ts';
export type { RetryDecision, RetryDecisionReason } from './decision.ts';
export { getRetryDecision } from './decision.ts';
export type {
  RetryAfterLimit,
  RetryAfterTooLongErrorInit,
  RetryBudgetExhaustedErrorInit,
} from './errors.ts';
export {
  isRetryAfterTooLongError,
  isRetryBudgetExhaustedError,
  isRetryOptionsError,
  RetryAfterTooLongError,
  RetryBudgetExhaustedError,
  RetryOptionsError,
} from './errors.ts';
export type { DelaySource, GiveUpEvent, OnGiveUp, OnRetry, RetryEvent } from './events.ts';
export type { RetryBackoff, RetryOptions, RetryRequestOptions, RetrySettings } from './options.ts';
export { contextKey, defaultRetrySettings } from './options.ts';
export { retryPlugin } from './plugin.ts';
export type { RetryAfterSource, ServerDelay } from './retry-after.ts';
export { parseServerDelay } from './retry-after.ts';
export { isOneShotBody } from './safety.ts';

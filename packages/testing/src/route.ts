import { UpstreamOptionsError } from './errors.ts';
import { type Schedule, validateSchedule } from './schedule.ts';
import { type Step, validateStep } from './step.ts';
import { assertKnownKeys, assertPlainObject } from './validate.ts';

/** How one route (a pathname, or `'*'` for every other path) behaves. `{}` is always-healthy. */
export type RouteSpec = {
  /**
   * Request `n` (0-based, counted per route) uses `steps[n]`; after the list, `then`.
   * @default [] (healthy 200)
   * @example { steps: [{ status: 503 }, { status: 503 }, { status: 200 }] }
   */
  steps?: Step[];
  /**
   * The step used once `steps` is exhausted.
   * @default the last step of `steps` (repeats), or a healthy 200 without steps
   * @example { steps: [{ status: 500 }], then: { status: 200 } }
   */
  then?: Step;
  /**
   * Time-scheduled behaviour, evaluated on each request; while it says "down" it overrides the steps.
   * @default none
   * @example { schedule: { kind: 'outage', durationMs: 3000 } }
   */
  schedule?: Schedule;
};

/** The step request number `n` (0-based) of a route uses. */
export function stepFor(spec: RouteSpec, n: number): Step {
  const steps = spec.steps ?? [];
  const step = steps[n];
  if (step !== undefined) return step;
  return spec.then ?? steps[steps.length - 1] ?? {};
}

/** Validates a route key (`'/path'` or `'*'`). */
export function validateRouteKey(option: string, key: unknown): asserts key is string {
  if (typeof key !== 'string' || (key !== '*' && !key.startsWith('/'))) {
    throw new UpstreamOptionsError(option, key, "a pathname starting with '/' or '*'");
  }
}

/** Validates a route spec; throws an `UpstreamOptionsError` naming `option` and the value. */
export function validateRouteSpec(option: string, value: unknown): RouteSpec {
  assertPlainObject(option, value);
  assertKnownKeys(option, value, ['steps', 'then', 'schedule']);
  if (value.steps !== undefined) {
    if (!Array.isArray(value.steps))
      throw new UpstreamOptionsError(`${option}.steps`, value.steps, 'an array');
    value.steps.forEach((step: unknown, index: number) => {
      validateStep(`${option}.steps[${index}]`, step);
    });
  }
  if (value.then !== undefined) validateStep(`${option}.then`, value.then);
  if (value.schedule !== undefined) validateSchedule(`${option}.schedule`, value.schedule);
  return value as RouteSpec;
}

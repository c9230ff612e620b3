import { UpstreamOptionsError } from './errors.ts';
import {
  assertKnownKeys,
  assertNonNegative,
  assertPlainObject,
  assertRate,
  assertStatus,
  MAX_DELAY_MS,
} from './validate.ts';

/**
 * Time-scheduled behaviour of a route, evaluated on each request against the upstream's `clock`,
 * measured from the moment the route was programmed (`startUpstream()` or `route()`).
 * While the schedule says "down", the route answers with the schedule's status and the steps
 * are not used (the request still takes a request number).
 *
 * @example { kind: 'outage', startMs: 1000, durationMs: 5000 }
 * @example { kind: 'phases', phases: [{ durationMs: 5000, schedule: null }, { durationMs: 5000, schedule: { kind: 'brownout', errorRate: 0.5 } }] }
 */
export type Schedule =
  /** Down (default 503) from `startMs` (default 0) for `durationMs`, then healthy. */
  | { kind: 'outage'; startMs?: number; durationMs: number; status?: number }
  /** Each `periodMs`: the first `downMs` down (default 503), the rest up. */
  | { kind: 'flapping'; periodMs: number; downMs: number; status?: number }
  /** A fraction `errorRate` in [0, 1] of requests fail (default 503), drawn with the upstream's `random`. */
  | { kind: 'brownout'; errorRate: number; status?: number }
  /** A fraction `rate` in [0, 1] of requests get `delayMs` more before the response head. */
  | { kind: 'slowTail'; rate: number; delayMs: number }
  /** A sequence of schedules (`null` = healthy), each for `durationMs`; healthy after the last. */
  | { kind: 'phases'; phases: Array<{ durationMs: number; schedule: Schedule | null }> };

/** What a schedule says about one request. */
export type ScheduleVerdict =
  | { readonly state: 'up'; readonly extraDelayMs: number }
  | { readonly state: 'down'; readonly status: number; readonly kind: Schedule['kind'] };

const UP: ScheduleVerdict = { state: 'up', extraDelayMs: 0 };
const DEFAULT_DOWN_STATUS = 503;

/**
 * Evaluates `schedule` for a request arriving `elapsedMs` after the route was programmed.
 * `random` is called once per request by `brownout` and `slowTail` (and only by them).
 */
export function evaluateSchedule(
  schedule: Schedule,
  elapsedMs: number,
  random: () => number,
): ScheduleVerdict {
  switch (schedule.kind) {
    case 'outage': {
      const start = schedule.startMs ?? 0;
      const down = elapsedMs >= start && elapsedMs < start + schedule.durationMs;
      return down ? { state: 'down', status: schedule.status ?? DEFAULT_DOWN_STATUS, kind: 'outage' } : UP;
    }
    case 'flapping': {
      const t = ((elapsedMs % schedule.periodMs) + schedule.periodMs) % schedule.periodMs;
      return t < schedule.downMs
        ? { state: 'down', status: schedule.status ?? DEFAULT_DOWN_STATUS, kind: 'flapping' }
        : UP;
    }
    case 'brownout':
      return random() < schedule.errorRate
        ? { state: 'down', status: schedule.status ?? DEFAULT_DOWN_STATUS, kind: 'brownout' }
        : UP;
    case 'slowTail':
      return random() < schedule.rate ? { state: 'up', extraDelayMs: schedule.delayMs } : UP;
    case 'phases': {
      let phaseStart = 0;
      for (const phase of schedule.phases) {
        if (elapsedMs < phaseStart + phase.durationMs) {
          return phase.schedule === null
            ? UP
            : evaluateSchedule(phase.schedule, elapsedMs - phaseStart, random);
        }
        phaseStart += phase.durationMs;
      }
      return UP;
    }
  }
}

/** Total duration of a `phases` schedule, or `undefined` for open-ended schedules. */
export function scheduleDurationMs(schedule: Schedule): number | undefined {
  if (schedule.kind === 'phases') return schedule.phases.reduce((sum, phase) => sum + phase.durationMs, 0);
  if (schedule.kind === 'outage') return (schedule.startMs ?? 0) + schedule.durationMs;
  return undefined;
}

/** Validates a schedule; throws an `UpstreamOptionsError` naming `option` and the value. */
export function validateSchedule(option: string, value: unknown): Schedule {
  assertPlainObject(option, value);
  switch (value.kind) {
    case 'outage':
      assertKnownKeys(option, value, ['kind', 'startMs', 'durationMs', 'status']);
      if (value.startMs !== undefined) assertNonNegative(`${option}.startMs`, value.startMs);
      assertNonNegative(`${option}.durationMs`, value.durationMs);
      if (value.status !== undefined) assertStatus(`${option}.status`, value.status);
      break;
    case 'flapping': {
      assertKnownKeys(option, value, ['kind', 'periodMs', 'downMs', 'status']);
      const period = assertNonNegative(`${option}.periodMs`, value.periodMs);
      if (period === 0) throw new UpstreamOptionsError(`${option}.periodMs`, period, 'a number > 0');
      assertNonNegative(`${option}.downMs`, value.downMs, period);
      if (value.status !== undefined) assertStatus(`${option}.status`, value.status);
      break;
    }
    case 'brownout':
      assertKnownKeys(option, value, ['kind', 'errorRate', 'status']);
      assertRate(`${option}.errorRate`, value.errorRate);
      if (value.status !== undefined) assertStatus(`${option}.status`, value.status);
      break;
    case 'slowTail':
      assertKnownKeys(option, value, ['kind', 'rate', 'delayMs']);
      assertRate(`${option}.rate`, value.rate);
      assertNonNegative(`${option}.delayMs`, value.delayMs, MAX_DELAY_MS);
      break;
    case 'phases': {
      assertKnownKeys(option, value, ['kind', 'phases']);
      const phases = value.phases;
      if (!Array.isArray(phases) || phases.length === 0) {
        throw new UpstreamOptionsError(`${option}.phases`, phases, 'a non-empty array');
      }
      phases.forEach((phase: unknown, index: number) => {
        const at = `${option}.phases[${index}]`;
        assertPlainObject(at, phase);
        assertKnownKeys(at, phase, ['durationMs', 'schedule']);
        assertNonNegative(`${at}.durationMs`, phase.durationMs);
        if (phase.schedule !== null) validateSchedule(`${at}.schedule`, phase.schedule);
      });
      break;
    }
    default:
      throw new UpstreamOptionsError(
        `${option}.kind`,
        value.kind,
        "'outage', 'flapping', 'brownout', 'slowTail' or 'phases'",
      );
  }
  return value as Schedule;
}

import { UpstreamOptionsError } from './errors.ts';
import type { RouteSpec } from './route.ts';

/** Named presets for the CLI and demos; each programs the `'*'` route. */
export type ScenarioName = 'healthy' | 'brownout' | 'outage' | 'flapping' | 'slow-tail' | 'incident';

/** Every scenario name, in documentation order. */
export const scenarioNames: readonly ScenarioName[] = [
  'healthy',
  'brownout',
  'outage',
  'flapping',
  'slow-tail',
  'incident',
];

/**
 * The route spec of a named scenario (a fresh object each call).
 *
 * - `healthy`: always 200.
 * - `brownout`: 30% of requests get 503 (seeded random).
 * - `outage`: 503 for the first 15 s, then healthy.
 * - `flapping`: every 4 s, 2 s of 503 then 2 s of 200.
 * - `slow-tail`: 10% of requests wait 2 s before the response head.
 * - `incident`: 8 s healthy, 8 s brownout (50% 503), 10 s full outage (503), 8 s recovery
 *   (healthy), then healthy for good: 34 s in all.
 */
export function scenarioRoute(name: ScenarioName): RouteSpec {
  switch (name) {
    case 'healthy':
      return {};
    case 'brownout':
      return { schedule: { kind: 'brownout', errorRate: 0.3, status: 503 } };
    case 'outage':
      return { schedule: { kind: 'outage', startMs: 0, durationMs: 15_000, status: 503 } };
    case 'flapping':
      return { schedule: { kind: 'flapping', periodMs: 4_000, downMs: 2_000, status: 503 } };
    case 'slow-tail':
      return { schedule: { kind: 'slowTail', rate: 0.1, delayMs: 2_000 } };
    case 'incident':
      return {
        schedule: {
          kind: 'phases',
          phases: [
            { durationMs: 8_000, schedule: null },
            { durationMs: 8_000, schedule: { kind: 'brownout', errorRate: 0.5, status: 503 } },
            { durationMs: 10_000, schedule: { kind: 'outage', durationMs: 10_000, status: 503 } },
            { durationMs: 8_000, schedule: null },
          ],
        },
      };
    default:
      throw new UpstreamOptionsError('scenario', name, `one of ${scenarioNames.join(', ')}`);
  }
}

import { type RouteSpec, type Schedule, scenarioRoute } from '@ky-resilience/testing';

/** One phase of the scripted incident, in milliseconds from the start of the run. */
export type Phase = { name: 'healthy' | 'brownout' | 'outage' | 'recovery'; startMs: number; endMs: number };

export type Incident = {
  /** The upstream's `'*'` route: the testing package's `incident` scenario, durations scaled. */
  route: RouteSpec;
  phases: Phase[];
  /** When the upstream recovers (the start of the `recovery` phase). */
  recoveryAtMs: number;
  totalMs: number;
};

function scaleSchedule(schedule: Schedule, scale: number): Schedule {
  switch (schedule.kind) {
    case 'outage':
      return { ...schedule, durationMs: Math.round(schedule.durationMs * scale) };
    case 'phases':
      return {
        kind: 'phases',
        phases: schedule.phases.map((phase) => ({
          durationMs: Math.round(phase.durationMs * scale),
          schedule: phase.schedule === null ? null : scaleSchedule(phase.schedule, scale),
        })),
      };
    default:
      return schedule;
  }
}

/**
 * The `incident` scenario of `@ky-resilience/testing` (8 s healthy, 8 s brownout with 50% 503,
 * 10 s full outage, 8 s recovery), every duration multiplied by `scale`. Healthy answers wait
 * `latencyMs` before their head, so latencies are not all zero.
 */
export function scaledIncident(scale: number, latencyMs: number): Incident {
  const base = scenarioRoute('incident').schedule;
  if (base === undefined || base.kind !== 'phases')
    throw new Error('the incident scenario is a phases schedule');
  const schedule = scaleSchedule(base, scale);
  if (schedule.kind !== 'phases') throw new Error('unreachable');
  const phases: Phase[] = [];
  let at = 0;
  for (const phase of schedule.phases) {
    const kind = phase.schedule?.kind;
    const name: Phase['name'] =
      kind === 'brownout'
        ? 'brownout'
        : kind === 'outage'
          ? 'outage'
          : phases.length === 0
            ? 'healthy'
            : 'recovery';
    phases.push({ name, startMs: at, endMs: at + phase.durationMs });
    at += phase.durationMs;
  }
  const recovery = phases.find((phase) => phase.name === 'recovery');
  return {
    route: { steps: [{ delayHeadersMs: latencyMs }], schedule },
    phases,
    recoveryAtMs: recovery?.startMs ?? at,
    totalMs: at,
  };
}

/** The phase a moment of the run falls in (the last one after the end). */
export function phaseAt(phases: readonly Phase[], atMs: number): Phase['name'] {
  for (const phase of phases) if (atMs < phase.endMs) return phase.name;
  return phases.at(-1)?.name ?? 'recovery';
}

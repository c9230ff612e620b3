import type { Suite } from './lib/suite.ts';
import { agentThroughput } from './suites/agent-throughput.ts';
import { hostLimiterOverhead } from './suites/host-limiter-overhead.ts';
import { overhead } from './suites/overhead.ts';

/** Every suite, in the order `run.ts` runs them. */
export const suites: readonly Suite[] = [agentThroughput, hostLimiterOverhead, overhead];

import type { Suite } from './lib/suite.ts';
import { agentThroughput } from './suites/agent-throughput.ts';
import { breakerOverhead } from './suites/breaker-overhead.ts';
import { brownout } from './suites/brownout.ts';
import { hostDown } from './suites/host-down.ts';
import { hostLimiterOverhead } from './suites/host-limiter-overhead.ts';
import { kyCost } from './suites/ky-cost.ts';
import { memory } from './suites/memory.ts';
import { outage } from './suites/outage.ts';
import { overhead } from './suites/overhead.ts';
import { pluginOverhead } from './suites/plugin-overhead.ts';
import { recovery } from './suites/recovery.ts';
import { retryContention } from './suites/retry-contention.ts';
import { slowTail } from './suites/slow-tail.ts';

/** Every suite, in the order `run.ts` runs them. */
export const suites: readonly Suite[] = [
  agentThroughput,
  hostLimiterOverhead,
  breakerOverhead,
  overhead,
  pluginOverhead,
  kyCost,
  outage,
  brownout,
  slowTail,
  recovery,
  hostDown,
  retryContention,
  memory,
];

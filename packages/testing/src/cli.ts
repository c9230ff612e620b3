#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { isUpstreamOptionsError, type ScenarioName, scenarioNames, startUpstream } from './index.ts';

const USAGE = `Usage: ky-resilience-upstream [options]

Starts a fault-injecting HTTP/1.1 upstream on loopback, prints its URL on the first line of
stdout, and on SIGINT/SIGTERM prints the counts as one JSON line and exits.

Options:
  --port <n>                 port to listen on (default 0: any free port)
  --host <addr>              127.0.0.1 (default) or ::1
  --scenario <name>          ${scenarioNames.join(' | ')} (default healthy)
  --keep-alive-timeout <ms>  server keep-alive timeout (default 5000)
  --seed <n>                 seed of the random draws (default 1)
  -h, --help                 show this help
`;

function usageError(message: string): never {
  process.stderr.write(`ky-resilience-upstream: ${message}\n\n${USAGE}`);
  process.exit(2);
}

function integerFlag(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) usageError(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

let values: {
  port?: string | undefined;
  host?: string | undefined;
  scenario?: string | undefined;
  'keep-alive-timeout'?: string | undefined;
  seed?: string | undefined;
  help?: boolean | undefined;
};
try {
  ({ values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    allowPositionals: false,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      scenario: { type: 'string' },
      'keep-alive-timeout': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (error) {
  usageError((error as Error).message);
}

if (values.help === true) {
  process.stdout.write(USAGE);
  process.exit(0);
}

const scenario = values.scenario ?? 'healthy';
if (!scenarioNames.includes(scenario as ScenarioName)) {
  usageError(`--scenario must be one of ${scenarioNames.join(', ')}, got ${JSON.stringify(scenario)}`);
}
const port = integerFlag('port', values.port);
const keepAliveTimeout = integerFlag('keep-alive-timeout', values['keep-alive-timeout']);
const seed = integerFlag('seed', values.seed);

let upstream: Awaited<ReturnType<typeof startUpstream>>;
try {
  upstream = await startUpstream({
    scenario: scenario as ScenarioName,
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(port === undefined ? {} : { port }),
    ...(keepAliveTimeout === undefined ? {} : { keepAliveTimeout }),
    ...(seed === undefined ? {} : { seed }),
  });
} catch (error) {
  if (isUpstreamOptionsError(error)) usageError(error.message);
  process.stderr.write(`ky-resilience-upstream: cannot listen: ${(error as Error).message}\n`);
  process.exit(1);
}

process.stdout.write(`${upstream.url}\n`);
process.stderr.write(`ky-resilience-upstream: scenario ${scenario} on ${upstream.url} (Ctrl-C to stop)\n`);

const stop = (signal: NodeJS.Signals): void => {
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  const totals = upstream.counters();
  const summary = {
    signal,
    scenario,
    requests: totals.requests,
    statuses: totals.statuses,
    connections: upstream.connections,
    peakInFlight: totals.peakInFlight,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  void upstream.close().then(() => {
    process.exitCode = 0;
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

/**
 * Runs the benchmark suites: every suite, or the ones named on the command line.
 *
 *   node src/run.ts [suite ...] [--smoke] [--requests N] [--rounds N] [--out DIR] [--no-write] [--cpu-prof] [--list]
 *
 * --smoke      a few requests and one round: checks that every suite runs, writes no results.
 * --requests   requests per figure; --rounds: measured rounds (each suite has its own defaults).
 * --out DIR    where to write `<suite>.md` and `<suite>.svg` (default: benchmarks/results; not in smoke runs).
 * --no-write   print only.
 * --cpu-prof   CPU profiles of every client process, written to benchmarks/profiles/.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { closeSharedWorkers } from './lib/faults.ts';
import { suites } from './suites.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = fileURLToPath(new URL('../results/', import.meta.url));
const PROFILES = fileURLToPath(new URL('../profiles/', import.meta.url));

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new TypeError(`--${name} must be a positive integer, got ${value}`);
  return n;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    smoke: { type: 'boolean', default: false },
    requests: { type: 'string' },
    rounds: { type: 'string' },
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
  },
});

if (values.list) {
  for (const suite of suites) process.stdout.write(`${suite.name}\t${suite.description}\n`);
  process.exit(0);
}

const unknown = positionals.filter((name) => !suites.some((s) => s.name === name));
if (unknown.length > 0) {
  process.stderr.write(
    `unknown suite: ${unknown.join(', ')}; known: ${suites.map((s) => s.name).join(', ')}\n`,
  );
  process.exit(2);
}
const selected = positionals.length === 0 ? suites : suites.filter((s) => positionals.includes(s.name));

const args = process.argv.slice(2).join(' ');
const resultsDir = values['no-write'] ? undefined : (values.out ?? (values.smoke ? undefined : RESULTS));
const requests = positiveInteger('requests', values.requests);
const rounds = positiveInteger('rounds', values.rounds);

const started = performance.now();
let failed = false;
for (const suite of selected) {
  try {
    const outcome = await suite.run({
      smoke: values.smoke,
      ...(requests === undefined ? {} : { requests }),
      ...(rounds === undefined ? {} : { rounds }),
      ...(resultsDir === undefined ? {} : { resultsDir }),
      workerExecArgv: values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}${suite.name}`] : [],
      command: `npx -y pnpm@10.34.9 bench${args === '' ? '' : ` ${args}`}`,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${outcome.text}\n\n`);
    // A smoke run is not a measurement: its goal lines are printed, but not counted.
    if (outcome.goals > 0 && !values.smoke) {
      process.stdout.write(
        `${suite.name}: ${outcome.goals - outcome.missed} of ${outcome.goals} goals met\n\n`,
      );
    }
  } catch (error) {
    failed = true;
    process.stderr.write(
      `${suite.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
}
await closeSharedWorkers();
const total = (performance.now() - started) / 1000;
const whole = Math.round(total);
process.stdout.write(
  `Total wall time: ${total.toFixed(1)} s (${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s), ${selected.length} suite${selected.length === 1 ? '' : 's'}${values.smoke ? ', smoke run' : ''}\n`,
);
if (resultsDir !== undefined) process.stderr.write(`results written to ${resultsDir} (from ${HERE})\n`);
process.exitCode = failed ? 1 : 0;

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultBudgetRatio } from './clients.ts';
import { runDemo } from './run.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    rate: { type: 'string', default: '60' },
    'budget-ratio': { type: 'string', default: String(defaultBudgetRatio) },
    report: { type: 'string' },
    'no-report': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  console.log(`Usage: node src/main.ts [options]   (from the repository root: pnpm demo [options])

  --scale N          multiplies every phase of the incident (default 1: 34 s; 0.02 to 1.5)
  --rate N           calls started per second by each client (default 60; 1 to 500)
  --budget-ratio N   the resilient client's retry budget ratio (default ${defaultBudgetRatio}; the preset's own is 0.5)
  --report PATH      where the HTML report goes, relative to the directory you ran the command in
                     (default examples/demo/report/demo-report.html)
  --no-report        no HTML report`);
  process.exit(0);
}

const number = (name: string, text: string, min: number, max: number): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
};

const scale = number('scale', values.scale, 0.02, 1.5);
// pnpm runs the script in examples/demo; INIT_CWD is where the command was typed.
const reportPath = values['no-report']
  ? false
  : values.report === undefined
    ? fileURLToPath(new URL('../report/demo-report.html', import.meta.url))
    : resolve(process.env.INIT_CWD ?? process.cwd(), values.report);

console.log(
  'ky-resilience demo: the same workload through plain ky and through ky-resilience, each against an upstream that goes\n' +
    'healthy → brownout (50% 503) → full outage (503) → recovery.\n',
);
const result = await runDemo({
  scale,
  ratePerSec: number('rate', values.rate, 1, 500),
  reportPath,
  out: process.stdout,
  seed: 7,
  budgetRatio: number('budget-ratio', values['budget-ratio'], 0, 1_000),
});
console.log(`\n${result.table}\n`);
if (result.reportPath !== false) console.log(`HTML report: ${result.reportPath}`);

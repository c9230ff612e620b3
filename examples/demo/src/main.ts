import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runDemo } from './run.ts';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    rate: { type: 'string', default: '60' },
    report: { type: 'string' },
    'no-report': { type: 'boolean', default: false },
  },
});

const number = (name: string, text: string, min: number, max: number): number => {
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max) {
    console.error(`--${name} must be a number from ${min} to ${max}, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
};

const scale = number('scale', values.scale, 0.02, 1.5);
const reportPath = values['no-report']
  ? false
  : (values.report ?? fileURLToPath(new URL('../report/demo-report.html', import.meta.url)));

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
});
console.log(`\n${result.table}\n`);
if (result.reportPath !== false) console.log(`HTML report: ${result.reportPath}`);

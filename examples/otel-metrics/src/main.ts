import { metricNames } from './metrics.ts';
import { run, total } from './run.ts';

const report = await run();
console.log(
  `calls: ${report.calls}, succeeded: ${report.succeeded}, upstream requests: ${report.upstreamRequests}`,
);
console.log('');
console.log('recorded series (OpenTelemetry in-memory exporter):');
for (const series of report.series) {
  const labels = Object.entries(series.attributes)
    .filter(([key]) => key !== 'client')
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(' ');
  const sum = series.sum === undefined ? '' : ` (sum ${series.sum.toFixed(1)} ms)`;
  console.log(`  ${series.name.padEnd(46)} ${String(series.value).padStart(3)}${sum}  ${labels}`);
}
console.log('');
console.log(`attempts: ${total(report.series, metricNames.attempts)}`);
console.log(`retries:  ${total(report.series, metricNames.retries)}`);
console.log(`rejected: ${total(report.series, metricNames.rejections)}`);
console.log(`timeouts: ${total(report.series, metricNames.timeouts)}`);

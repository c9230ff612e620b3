import { describeFailure } from './outcome.ts';
import { ProgressBar } from './progress-bar.ts';
import { perHostLimit, runScenario } from './scenario.ts';

const perHost = Number(process.argv[2] ?? 40);
console.log(`Fetching ${perHost * 3 + 1} URLs across 4 hosts, at most ${perHostLimit} at once per host.`);
const bar = new ProgressBar(process.stdout);
const report = await runScenario({ perHost, onProgress: (p) => bar.update(p) });
bar.finish();

const ok = report.outcomes.filter((o) => o.ok).length;
const failures = new Map<string, string[]>();
for (const outcome of report.outcomes) {
  if (outcome.ok) continue;
  const label = describeFailure(outcome.error);
  failures.set(label, [...(failures.get(label) ?? []), outcome.url]);
}
console.log(`\nsucceeded: ${ok}/${report.outcomes.length}`);
for (const [label, urls] of failures) {
  console.log(`failed (${label}): ${urls.length}  e.g. ${urls[0]}`);
}
console.log('\nper host: peak in flight (limit) / requests received (retries included)');
for (const host of Object.keys(report.peakPerHost)) {
  console.log(
    `  ${host.padEnd(14)} ${report.peakPerHost[host]} (${perHostLimit}) / ${report.requestsPerHost[host]}`,
  );
}

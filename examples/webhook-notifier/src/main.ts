import { runScenario } from './scenario.ts';

const updates = Number(process.argv[2] ?? 4);
console.log(`Task app with 4 webhook subscribers; ${updates} task updates.\n`);
const report = await runScenario({ updates, log: (line) => console.log(`  log: ${line}`) });
console.log('');
for (const update of report.updates) {
  const cells = update.deliveries.map((d) => `${d.name} ${d.delivered ? 'delivered' : 'NOT delivered'}`);
  console.log(`${update.taskId} v${update.version}: ${cells.join(', ')}`);
}
const { alpha, beta } = report.received;
console.log(
  `\nalpha received ${alpha.requests} requests, ${new Set(alpha.keys).size} distinct Idempotency-Keys`,
);
console.log(
  `beta received ${beta.requests} requests, ${new Set(beta.keys).size} distinct Idempotency-Keys ` +
    '(a reset answer was retried with the same key: the subscriber acts once)',
);
console.log(`internal (10.1.2.3, refused by the SSRF guard) received ${report.internalRequests} requests`);
console.log(`shared client closed on shutdown: ${report.clientClosed}`);

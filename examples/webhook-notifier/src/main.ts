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
const sent = report.downAttempts.filter((a) => a === 'sent').length;
const refused = report.downAttempts.length - sent;
console.log(
  `down: ${sent} connection attempts (refused), then its circuit opened: ${refused} attempts failed at once ` +
    'with CircuitOpenError, nothing sent',
);
console.log(
  `internal (::1, refused by the SSRF guard) received ${report.internal.requests} requests ` +
    `on ${report.internal.connections} connections`,
);
console.log(`shared client closed on shutdown: ${report.clientClosed}`);

import { run } from './run.ts';

const requests = Number(process.argv[2] ?? 600);
const hosts = ['users.internal.test', 'orders.internal.test', 'billing.internal.test'];
const limit = 12;
const limitPerHost = 5;

console.log(
  `${requests} GETs over ${hosts.length} host names through one agent (limit ${limit}, ${limitPerHost} per host)`,
);
const report = await run({ requests, hosts, limit, limitPerHost });
console.log(`succeeded:        ${report.ok}/${report.requests}`);
console.log(`TCP connections:  ${report.connections} (at most ${hosts.length} × ${limitPerHost})`);
console.log(`peak in flight:   ${report.peakInFlight} (global cap ${limit})`);
for (const [host, peak] of Object.entries(report.peakPerHost)) {
  console.log(`  ${host.padEnd(24)} peak ${peak} (cap ${limitPerHost})`);
}
console.log(`DNS lookups:      ${report.dnsLookups} (cached for the record's TTL)`);
if (report.ok !== report.requests) process.exitCode = 1;

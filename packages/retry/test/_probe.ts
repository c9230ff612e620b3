import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startUpstream } from '@ky-resilience/testing';
import ky from 'ky';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const up = await startUpstream({
  routes: { '/x': { steps: [{ status: 503 }, { delayHeadersMs: 600000 }] } },
});
const c = new AbortController();
const p = ky
  .get(up.url + '/x', { signal: c.signal, timeout: false, retry: { limit: 1, delay: () => 1 } })
  .catch((e) => `rejected: ${e.message}`);
while (up.counters('/x').requests < 2) await new Promise((r) => setTimeout(r, 5));
gc();
await new Promise((r) => setTimeout(r, 10));
gc();
c.abort(new Error('caller abort'));
const t = setTimeout(() => {
  console.log('STILL PENDING after 1s', up.counters('/x').inFlight);
  process.exit(0);
}, 1000);
console.log(await p);
clearTimeout(t);
await up.close();

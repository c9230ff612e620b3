/**
 * Child-process entry: builds one client (argv: name, JSON options) and runs loads on request over IPC.
 * Started by `ClientWorker`; never imported.
 */
import { type ClientName, type ClientOptions, clientNames, createClient } from './clients.ts';
import { runLoad } from './load.ts';
import { runOpenLoop } from './open-loop.ts';
import type { ParentMessage, WorkerMessage } from './protocol.ts';

const [name, json] = process.argv.slice(2);
if (!clientNames.includes(name as ClientName)) throw new TypeError(`unknown client: ${name}`);
const options = JSON.parse(json ?? '{}') as ClientOptions;

const send = (message: WorkerMessage): void => {
  process.send?.(message);
};

let client = await createClient(name as ClientName, options);
send({ type: 'ready' });

process.on('message', (message: ParentMessage) => {
  switch (message.type) {
    case 'run':
      runLoad(() => client.get(message.url), message.requests, message.concurrency).then(
        (result) => send({ type: 'result', id: message.id, result }),
        (error: unknown) => send({ type: 'failed', id: message.id, error: String(error) }),
      );
      break;
    case 'open-loop':
      runOpenLoop((url, init) => client.get(url, init), message.plan).then(
        (result) => send({ type: 'calls', id: message.id, result }),
        (error: unknown) => send({ type: 'failed', id: message.id, error: String(error) }),
      );
      break;
    case 'renew':
      // A fresh client (breakers, budgets and pools start empty); modules stay loaded and warm.
      client
        .close()
        .then(() => createClient(name as ClientName, options))
        .then(
          (fresh) => {
            client = fresh;
            send({ type: 'renewed', id: message.id });
          },
          (error: unknown) => send({ type: 'failed', id: message.id, error: String(error) }),
        );
      break;
    case 'inspect':
      client.inspect().then(
        (facts) => send({ type: 'facts', id: message.id, facts }),
        (error: unknown) => send({ type: 'failed', id: message.id, error: String(error) }),
      );
      break;
    case 'close':
      client.close().finally(() => process.exit(0));
      break;
  }
});

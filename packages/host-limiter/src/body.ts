import type { BodyConsumer } from './body-handoff.ts';
import { receivedInFull } from './body-received.ts';
import { withBody } from './response-fields.ts';

/** What the finalizer of an unread body needs: never the response itself. */
type Lease = { release: () => void; reader: ReadableStreamDefaultReader<Uint8Array> };

/**
 * Releases the slot of a response whose body nobody read, cancelled or aborted, once the body stream
 * has been garbage-collected, and cancels it so the connection is freed. A safety net only: read,
 * cancel or abort every body (ky's `.json()`/`.text()` read it).
 */
const unread: FinalizationRegistry<Lease> = new FinalizationRegistry((lease: Lease) => {
  lease.release();
  lease.reader.cancel().catch(() => {});
});

/**
 * `response` with a body that calls `release` exactly once when the body ends, errors (a reset, the
 * caller's abort, an attempt timeout of an inner layer), or is cancelled, whichever comes first,
 * read or not. A response without a body (or one whose body cannot be taken over) releases at once,
 * and so does one whose body has arrived in full (the agent's body-received protocol): it is returned as is.
 *
 * With `consumer` (a body hand-off addressed to the limiter: the tier above reads or wraps the body
 * for every tier below it), `response` is returned as is and `release` is its watcher's `end`.
 */
export function releaseWithBody(response: Response, release: () => void, consumer?: BodyConsumer): Response {
  const body = response.body;
  // Statuses `new Response` refuses cannot be rebuilt: release now rather than fail the request.
  if (body === null || body.locked || response.status < 200 || response.status > 599) {
    release();
    return response;
  }
  if (consumer !== undefined) {
    let released = false;
    consumer.watch(response, {
      end: () => {
        if (released) return;
        released = true;
        release();
      },
      settleUnread: true,
    });
    return response;
  }
  // The body has arrived in full (the agent's body-received protocol): reading it holds nothing on the
  // host any more, so the slot is released now and the response is returned as is.
  if (receivedInFull(response, body)) {
    release();
    return response;
  }
  const reader = body.getReader();
  let done = false;
  let lease: Lease | undefined;
  const finish = (): void => {
    if (done) return;
    done = true;
    if (lease !== undefined) unread.unregister(lease);
    release();
  };
  // Settles when the body ends, errors or is cancelled, even while nobody is reading it.
  reader.closed.then(finish, finish);
  const stream = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: Awaited<ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          finish();
          controller.error(error);
          return;
        }
        if (chunk.done) {
          finish();
          controller.close();
          return;
        }
        controller.enqueue(chunk.value);
      },
      cancel(reason) {
        finish();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  const wrapped = withBody(response, stream);
  lease = { release: finish, reader };
  // Tied to the body stream, not to the response: a caller may keep only the stream (`response.body`
  // piped on, ky's download progress), and a stream still read must never be cut short.
  unread.register(stream, lease, lease);
  return wrapped;
}

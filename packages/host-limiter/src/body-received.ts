/**
 * The agent's body-received protocol, known by name (`Symbol.for`) so that separately installed copies
 * agree: a response of the agent's fetch has a method under this key that returns the body's length in
 * bytes once the whole body has arrived and is held in the response's stream (nothing on the wire can
 * fail or stall it any more), else `undefined`.
 */
const bodyReceivedKey: symbol = Symbol.for('@ky-resilience/body-received@1');

/**
 * True when `body`, the body of `response`, has arrived in full and was never read nor locked: reading
 * it can no longer fail or wait on the wire, so a tier has no body phase left to watch.
 */
export function receivedInFull(response: Response, body: ReadableStream<Uint8Array>): boolean {
  if (response.bodyUsed || body.locked) return false;
  const received = (response as unknown as Record<symbol, unknown>)[bodyReceivedKey];
  return typeof received === 'function' && typeof received.call(response) === 'number';
}

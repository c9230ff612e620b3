import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Step } from './step.ts';
import { MAX_DELAY_MS } from './validate.ts';

/** What {@link respond} needs besides the step. */
export type RespondContext = {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly step: Step;
  /** Delay added before the head on top of `step.delayHeadersMs` (slow-tail schedules). */
  readonly extraDelayMs: number;
  /** Body used when the step has none (sent as `application/json`). */
  readonly defaultBody: string;
  /** Wall clock (epoch ms) for HTTP-dates. */
  readonly now: () => number;
  /** Runs `fn` after `ms` on a timer that is unref'd and cleared if the response or the upstream closes. */
  readonly later: (ms: number, fn: () => void) => void;
  /** Called with the status when the head is sent. */
  readonly onStatus: (status: number) => void;
  /**
   * Called when the upstream resets the connection: the request is over for the server at that moment (the
   * socket's close comes a loop turn later, when a client may already have sent its next request).
   */
  readonly onReset: () => void;
  /** Let Node advertise `Keep-Alive: timeout=N`; otherwise idle sockets are closed without warning. */
  readonly keepAliveHint: boolean;
};

const DEFAULT_DRIP_CHUNK = '.';
const MID_BODY_RESET_DELAY_MS = 20;

/** The response headers a step asks for (without `content-length`). */
export function stepHeaders(step: Step, now: number, defaultBody: boolean): Record<string, string> {
  const headers: Record<string, string> = {};
  if (defaultBody) headers['content-type'] = 'application/json';
  else if (step.body !== undefined) headers['content-type'] = 'text/plain; charset=utf-8';
  if (step.retryAfter !== undefined) headers['retry-after'] = String(step.retryAfter);
  if (step.retryAfterDate !== undefined) {
    headers['retry-after'] = new Date(now + step.retryAfterDate).toUTCString();
  }
  if (step.rateLimitReset !== undefined) headers['ratelimit-reset'] = String(step.rateLimitReset);
  if (step.xRateLimitReset !== undefined) headers['x-ratelimit-reset'] = String(step.xRateLimitReset);
  for (const [name, value] of Object.entries(step.headers ?? {})) headers[name.toLowerCase()] = value;
  if (step.close === true) headers.connection = 'close';
  return headers;
}

function hasNoBody(status: number): boolean {
  return status === 204 || status === 304;
}

/** Carries out one step on a request whose body has already been read. */
export function respond(context: RespondContext): void {
  // Each delay is at most setTimeout's maximum; their sum is capped there too (a longer timer fires at once).
  const delay = Math.min((context.step.delayHeadersMs ?? 0) + context.extraDelayMs, MAX_DELAY_MS);
  if (delay > 0) context.later(delay, () => sendHead(context));
  else sendHead(context);
}

function gone(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded || res.socket?.destroyed === true;
}

function sendHead(context: RespondContext): void {
  const { req, res, step } = context;
  if (gone(res)) return;
  const socket = res.socket;
  // A pipelined request's response waits in Node's queue without a socket until the responses
  // before it on the connection have finished; the step runs once it is this response's turn.
  if (socket === null) {
    res.once('socket', () => sendHead(context));
    return;
  }
  if (step.reset === 'before-headers') {
    context.onReset();
    socket.resetAndDestroy();
    return;
  }
  const status = step.status ?? 200;
  const body = step.body ?? context.defaultBody;
  const headers = stepHeaders(step, context.now(), step.body === undefined);
  // An explicit `Connection: keep-alive` stops Node from adding the `Keep-Alive: timeout=N` hint,
  // so clients keep idle sockets past the server's timeout: the stale keep-alive socket fault.
  if (!context.keepAliveHint && res.shouldKeepAlive && headers.connection === undefined) {
    headers.connection = 'keep-alive';
  }
  context.onStatus(status);

  if (step.stallBody === true) {
    res.writeHead(status, headers);
    res.flushHeaders();
    if (step.bodyPrefix !== undefined && step.bodyPrefix !== '') res.write(step.bodyPrefix);
    return;
  }

  if (step.reset === 'mid-body') {
    res.writeHead(status, headers);
    res.flushHeaders();
    const first = step.bodyPrefix ?? body.slice(0, Math.max(1, Math.floor(body.length / 2)));
    // Give the client a moment to read the first chunk before the RST: a client that reads data and
    // RST in one go may report a plain end of stream instead of ECONNRESET (libuv on Node 22).
    res.write(first === '' ? ' ' : first, () => {
      context.later(MID_BODY_RESET_DELAY_MS, () => {
        if (socket.destroyed) return;
        context.onReset();
        socket.resetAndDestroy();
      });
    });
    return;
  }

  if (step.drip !== undefined) {
    const { chunks, intervalMs } = step.drip;
    const chunk = step.drip.chunk ?? DEFAULT_DRIP_CHUNK;
    res.writeHead(status, headers);
    res.flushHeaders();
    let sent = 0;
    const tick = (): void => {
      if (gone(res)) return;
      res.write(chunk);
      sent += 1;
      if (sent >= chunks) res.end();
      else context.later(intervalMs, tick);
    };
    context.later(intervalMs, tick);
    return;
  }

  if (hasNoBody(status)) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  // For HEAD, Node sends the head (with the GET length) and drops the body.
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

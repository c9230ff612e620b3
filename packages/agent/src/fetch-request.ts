import { extractSimpleBody, type OutgoingBody } from './request-body.ts';
import { headerList } from './request-headers.ts';

export type RedirectMode = 'follow' | 'manual' | 'error';

/** A fetch call's request, as the lean fetch sends it. */
export type OutgoingRequest = {
  method: string;
  url: URL;
  /** The caller's headers, flat `[name, value, ...]` with lower-case names, before the defaults. */
  headers: string[];
  /** The body, ready to send; null when there is none or when it is still to be read from {@link unread}. */
  body: OutgoingBody | null;
  /** A `Request`'s body stream, read before the request is sent. */
  unread: ReadableStream<Uint8Array> | null;
  signal: AbortSignal | null;
  redirect: RedirectMode;
};

/** Marks a call the lean fetch leaves to Node's own fetch. */
export const FALLBACK: unique symbol = Symbol('fallback');
export type Fallback = typeof FALLBACK;

/** Method names the fetch standard upper-cases (any other is sent as written). */
const NORMALIZED_METHODS: ReadonlySet<string> = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** `RequestInit` members the lean fetch reads itself; any other goes through the `Request` constructor. */
const SIMPLE_INIT_KEYS: ReadonlySet<string> = new Set([
  'method',
  'headers',
  'body',
  'signal',
  'redirect',
  'duplex',
]);
const REDIRECT_MODES: ReadonlySet<string> = new Set(['follow', 'manual', 'error']);
/** undici's `setGlobalOrigin()`: relative URLs and origin headers, left to Node's fetch. */
const GLOBAL_ORIGIN: unique symbol = Symbol.for('undici.globalOrigin.1') as typeof GLOBAL_ORIGIN;

/** An http(s) URL; null when it does not parse; {@link FALLBACK} for any other scheme (data:, blob:...). */
function httpUrl(href: string): URL | null | Fallback {
  const url = URL.parse(href);
  if (url === null) return null;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return FALLBACK;
  return url;
}

/**
 * What a `Request` carries, or {@link FALLBACK} when it asks for what only Node's fetch does: a `mode` other
 * than `cors`, a `cache` mode other than `default`, `keepalive`, `integrity`, a `referrer`, a scheme other than
 * http(s), or a body already used (the fetch then fails with its own error).
 */
export function fromRequest(request: Request, signal?: AbortSignal | null): OutgoingRequest | Fallback {
  if (
    request.mode !== 'cors' ||
    request.cache !== 'default' ||
    request.keepalive ||
    request.integrity !== '' ||
    request.referrer !== 'about:client'
  ) {
    return FALLBACK;
  }
  const url = httpUrl(request.url);
  if (url === null || url === FALLBACK) return FALLBACK;
  const stream = request.body;
  if (stream !== null && request.bodyUsed) return FALLBACK;
  return {
    method: request.method,
    url,
    headers: headerList(request.headers),
    body: null,
    unread: stream,
    signal: signal === undefined ? request.signal : signal,
    redirect: request.redirect,
  };
}

/** Any input the simple path does not take: the `Request` constructor validates it (and throws fetch's errors). */
function viaRequest(input: unknown, init: RequestInit | undefined): OutgoingRequest | Fallback {
  return fromRequest(new Request(input as string | URL | Request, init));
}

function hasHeader(list: readonly string[], name: string): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return true;
  return false;
}

function fromUrl(input: string | URL, init: RequestInit | undefined): OutgoingRequest | Fallback {
  const url = httpUrl(typeof input === 'string' ? input : input.href);
  if (url === FALLBACK) return FALLBACK;
  if (url === null || url.username !== '' || url.password !== '') return viaRequest(input, init);
  if (init === undefined) {
    return { method: 'GET', url, headers: [], body: null, unread: null, signal: null, redirect: 'follow' };
  }
  let method = 'GET';
  if (init.method !== undefined) {
    const upper = typeof init.method === 'string' ? init.method.toUpperCase() : '';
    if (NORMALIZED_METHODS.has(upper)) method = upper;
    else if (init.method === 'PATCH') method = 'PATCH';
    else return viaRequest(input, init);
  }
  const redirect = init.redirect ?? 'follow';
  const signal = init.signal ?? null;
  if (
    !REDIRECT_MODES.has(redirect) ||
    (signal !== null && !(signal instanceof AbortSignal)) ||
    (init.duplex !== undefined && init.duplex !== 'half')
  ) {
    return viaRequest(input, init);
  }
  const headersInit = init.headers;
  const headers =
    headersInit === undefined
      ? []
      : headerList(headersInit instanceof Headers ? headersInit : new Headers(headersInit));
  let body: OutgoingBody | null = null;
  if (init.body !== undefined && init.body !== null) {
    if (method === 'GET' || method === 'HEAD') return viaRequest(input, init);
    const extracted = extractSimpleBody(init.body);
    if (extracted === undefined) return viaRequest(input, init);
    body = extracted.body;
    if (extracted.contentType !== null && !hasHeader(headers, 'content-type')) {
      headers.push('content-type', extracted.contentType);
    }
  }
  return { method, url, headers, body, unread: null, signal, redirect: redirect as RedirectMode };
}

/**
 * Reads a fetch call's arguments. Strings and URLs with a plain `init` (method, headers, a string, bytes,
 * `URLSearchParams` or Blob body, signal, redirect) are read directly; a `Request` through its getters; anything
 * else through the `Request` constructor, which throws fetch's own errors for bad input. Returns
 * {@link FALLBACK} for what is left to Node's fetch: a caller's `dispatcher`, inputs that are neither a string,
 * a URL nor a `Request`, an undici global origin, and what {@link fromRequest} refuses.
 */
export function toOutgoing(input: unknown, init: RequestInit | undefined): OutgoingRequest | Fallback {
  if ((globalThis as Record<symbol, unknown>)[GLOBAL_ORIGIN] !== undefined) return FALLBACK;
  if (init !== undefined && init !== null) {
    if (typeof init !== 'object') return viaRequest(input, init);
    let given = false;
    let simple = true;
    let signalOnly = true;
    for (const key in init) {
      if ((init as Record<string, unknown>)[key] === undefined) continue;
      if (key === 'dispatcher') return FALLBACK;
      given = true;
      if (!SIMPLE_INIT_KEYS.has(key)) simple = false;
      if (key !== 'signal') signalOnly = false;
    }
    if (!given) {
      init = undefined;
    } else if (input instanceof Request) {
      // A wrapper's `{ ...init, signal }`: the Request with that signal, as `new Request(input, { signal })` makes.
      const signal = init.signal;
      if (signalOnly && (signal === null || signal instanceof AbortSignal)) return fromRequest(input, signal);
      return viaRequest(input, init);
    } else if (!simple) {
      return viaRequest(input, init);
    }
  } else {
    init = undefined;
  }
  if (input instanceof Request) return fromRequest(input);
  if (typeof input === 'string' || input instanceof URL) return fromUrl(input, init);
  return FALLBACK;
}

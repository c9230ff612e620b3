/** Statuses that redirect (the fetch standard's "redirect status"). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** The fetch standard's limit on redirects followed by one call. */
export const MAX_REDIRECTS = 20;

/** Request headers that describe the body: dropped when a redirect turns the request into a GET. */
const BODY_HEADERS: ReadonlySet<string> = new Set([
  'content-encoding',
  'content-language',
  'content-location',
  'content-type',
  'content-length',
]);

/** Request headers that must not follow a redirect to another origin. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'host',
]);

/** Where a followed redirect goes and what is left of the request. */
export type RedirectPlan = {
  url: URL;
  method: string;
  /** The request headers for the next hop (flat `[name, value, ...]`, lower-case names). */
  headers: string[];
  /** True when the body is dropped (the method became GET). */
  dropBody: boolean;
};

/** The previous hop, as the redirect steps of the fetch standard see it. */
export type RedirectFrom = {
  status: number;
  /** The response's `Location` header, or null. */
  location: string | null;
  url: URL;
  method: string;
  headers: readonly string[];
  hasBody: boolean;
  /** True when the body can be sent again (bytes or a Blob, not a stream already consumed). */
  replayable: boolean;
  /** Redirects followed so far. */
  count: number;
};

function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code > 0x7e || code < 0x20) return false;
  }
  return true;
}

/**
 * The fetch standard's HTTP-redirect fetch (steps 3 to 13) for redirect mode "follow". Returns `null` when the
 * response has no usable `Location` (it is then the final response), the plan of the next hop, or an `Error`
 * that becomes the `cause` of the call's `TypeError('fetch failed')`, with undici's messages.
 */
export function planRedirect(from: RedirectFrom): RedirectPlan | null | Error {
  if (from.location === null) return null;
  let location = from.location;
  // Servers that send a raw UTF-8 Location: decode it as browsers (and undici) do.
  if (!isAscii(location)) location = Buffer.from(location, 'latin1').toString('utf8');
  let url: URL;
  try {
    url = new URL(location, from.url);
  } catch (error) {
    return error as Error;
  }
  if (url.hash === '' && from.url.hash !== '') url.hash = from.url.hash;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return new Error('URL scheme must be a HTTP(S) scheme');
  }
  if (from.count >= MAX_REDIRECTS) return new Error('redirect count exceeded');
  if (url.username !== '' || url.password !== '') {
    return new Error('URL cannot contain credentials for request mode "cors"');
  }
  if (from.status !== 303 && from.hasBody && !from.replayable) {
    return new Error('the request body is a stream that was already sent: it cannot follow a redirect');
  }
  let method = from.method;
  let dropBody = false;
  if (
    ((from.status === 301 || from.status === 302) && method === 'POST') ||
    (from.status === 303 && method !== 'GET' && method !== 'HEAD')
  ) {
    method = 'GET';
    dropBody = true;
  }
  const crossOrigin = url.origin !== from.url.origin;
  let headers = from.headers as string[];
  if (dropBody || crossOrigin) {
    headers = [];
    for (let i = 0; i < from.headers.length; i += 2) {
      const name = from.headers[i]!;
      if (dropBody && BODY_HEADERS.has(name)) continue;
      if (crossOrigin && CREDENTIAL_HEADERS.has(name)) continue;
      headers.push(name, from.headers[i + 1]!);
    }
  }
  return { url, method, headers, dropBody };
}

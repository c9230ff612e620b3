/**
 * The request headers Node's fetch sends, from the caller's (flat `[name, value, ...]`, lower-case names, values
 * combined as `Headers` combines them). As in undici's fetch: `Accept` of any type, `Accept-Language: *`,
 * `Sec-Fetch-Mode: cors` (always, replacing the caller's), `User-Agent: node`, `Accept-Encoding: gzip, deflate`
 * (`br, gzip, deflate` over https; `identity` is added to a `Range` request's), `Content-Length` when the body's
 * length is known (`0` for a POST or PUT without body), `Pragma` and `Cache-Control: no-cache` for a conditional
 * request (`If-None-Match`...); a caller's `Host` is dropped. Each default yields to the caller's header.
 */
export function withDefaultHeaders(
  user: readonly string[],
  method: string,
  https: boolean,
  hasBody: boolean,
  contentLength: number | null,
): string[] {
  let accept = false;
  let language = false;
  let agent = false;
  let encoding = -1;
  let range = false;
  let length = false;
  let pragma = false;
  let cacheControl = false;
  let conditional = false;
  const out: string[] = [];
  for (let i = 0; i < user.length; i += 2) {
    const name = user[i]!;
    switch (name) {
      case 'host':
      case 'sec-fetch-mode':
        continue;
      case 'accept':
        accept = true;
        break;
      case 'accept-language':
        language = true;
        break;
      case 'user-agent':
        agent = true;
        break;
      case 'accept-encoding':
        encoding = out.length;
        break;
      case 'range':
        range = true;
        break;
      case 'content-length':
        length = true;
        break;
      case 'pragma':
        pragma = true;
        break;
      case 'cache-control':
        cacheControl = true;
        break;
      case 'if-modified-since':
      case 'if-none-match':
      case 'if-unmodified-since':
      case 'if-match':
      case 'if-range':
        conditional = true;
        break;
    }
    out.push(name, user[i + 1]!);
  }
  if (!length) {
    if (contentLength !== null) out.push('content-length', String(contentLength));
    else if (!hasBody && (method === 'POST' || method === 'PUT')) out.push('content-length', '0');
  }
  if (!accept) out.push('accept', '*/*');
  if (!language) out.push('accept-language', '*');
  out.push('sec-fetch-mode', 'cors');
  if (!agent) out.push('user-agent', 'node');
  if (conditional) {
    if (!pragma) out.push('pragma', 'no-cache');
    if (!cacheControl) out.push('cache-control', 'no-cache');
  }
  if (range) {
    if (encoding === -1) out.push('accept-encoding', 'identity');
    else out[encoding + 1] = `${out[encoding + 1]}, identity`;
  } else if (encoding === -1) {
    out.push('accept-encoding', https ? 'br, gzip, deflate' : 'gzip, deflate');
  }
  return out;
}

/** A `Headers` as a flat `[name, value, ...]` list (lower-case names, values combined but `Set-Cookie`). */
export function headerList(headers: Headers): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) out.push(name, value);
  return out;
}

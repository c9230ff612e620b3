const objectToString = Object.prototype.toString;

/** `input` as a `Request` when it is one (also one from another realm), else `undefined`. */
export function asRequest(input: unknown): Request | undefined {
  return input instanceof Request || objectToString.call(input) === '[object Request]'
    ? (input as Request)
    : undefined;
}

/**
 * The origin of an absolute URL (`scheme://host[:port]`). A serialized URL (what `Request.url`
 * holds) is cut at the first `/` after `//`; anything else goes through `new URL()`. A string
 * that is not a URL is its own key.
 */
export function originOf(url: string): string {
  const authority = url.indexOf('//');
  if (authority > 0 && url.charCodeAt(authority - 1) === 58 /* : */) {
    const end = url.indexOf('/', authority + 2);
    if (end !== -1) {
      const origin = url.slice(0, end);
      // Userinfo, a query or a fragment before the path: let the URL parser decide.
      if (!origin.includes('@') && !origin.includes('?') && !origin.includes('#')) return origin;
    }
  }
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

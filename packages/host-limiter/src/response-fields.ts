/**
 * A `Response` like `original` (status, status text, headers) over a new `body`, with the `url`,
 * `redirected` and `type` of `original`, which `new Response()` cannot set. Its clones keep them
 * too: ky hands each `afterResponse` hook a clone, and `Response.prototype.clone` would give `''`,
 * `false` and `'default'`.
 */
export function withBody(original: Response, body: ConstructorParameters<typeof Response>[0]): Response {
  const response = new Response(body, {
    status: original.status,
    statusText: original.statusText,
    headers: original.headers,
  });
  return keepFields(response, original.url, original.redirected, original.type);
}

function keepFields(response: Response, url: string, redirected: boolean, type: Response['type']): Response {
  Object.defineProperties(response, {
    url: { value: url, enumerable: true, configurable: true },
    redirected: { value: redirected, enumerable: true, configurable: true },
    type: { value: type, enumerable: true, configurable: true },
    clone: { value: cloneKeepingFields, writable: true, configurable: true },
  });
  return response;
}

function cloneKeepingFields(this: Response): Response {
  return keepFields(Response.prototype.clone.call(this), this.url, this.redirected, this.type);
}

/**
 * `response` (built over a new body with `new Response()`) given the `url`, `redirected` and `type` of the
 * response it stands for, which the constructor cannot set, and a `clone()` that keeps them too: ky hands
 * each `afterResponse` hook a clone, and `Response.prototype.clone` would give `''`, `false` and `'default'`.
 */
export function keepResponseFields(
  response: Response,
  url: string,
  redirected: boolean,
  type: Response['type'],
): Response {
  Object.defineProperties(response, {
    url: { value: url, enumerable: true, configurable: true },
    redirected: { value: redirected, enumerable: true, configurable: true },
    type: { value: type, enumerable: true, configurable: true },
    clone: { value: cloneKeepingFields, writable: true, configurable: true },
  });
  return response;
}

function cloneKeepingFields(this: Response): Response {
  return keepResponseFields(Response.prototype.clone.call(this), this.url, this.redirected, this.type);
}

const kUrl: unique symbol = Symbol('url');
const kRedirected: unique symbol = Symbol('redirected');
const kSource: unique symbol = Symbol('source');

/**
 * The body-received protocol, known by name (`Symbol.for`) so that a separately installed copy of a tier
 * understands it: a lean fetch's response has a method under this key that returns the number of body bytes
 * when the whole body has arrived and is held in the response's stream (nothing on the wire can fail it any
 * more), else `undefined`. A tier that would read the whole body into memory anyway (the retry tier's body
 * buffering) can then keep the response as it is. It says nothing of reads: check `bodyUsed` and `locked`.
 */
export const bodyReceivedKey: unique symbol = Symbol.for('@ky-resilience/body-received@1');

/** What tells whether a response's body has arrived in full (the exchange that receives it). */
export type BodySource = {
  /** The body's length in bytes (after content decoding) once it has arrived in full, else `undefined`. */
  receivedInFull(): number | undefined;
};

type FetchResponse = Response & { [kUrl]: string; [kRedirected]: boolean; [kSource]: BodySource | null };
type FetchResponseClass = new (body: ReadableStream<Uint8Array> | null, init: ResponseInit) => FetchResponse;

let FetchResponseClass: FetchResponseClass | undefined;

/**
 * A `Response` built by the lean fetch: a real WHATWG `Response` (`instanceof Response`, every body method) whose
 * `url`, `redirected` and `type` are those of a fetched response (`new Response()` would give `''`, `false`
 * and `'default'`), and so are its clones.
 * Made on first use: reading the global `Response` loads Node's fetch, which importing the agent must not do.
 */
function fetchResponseClass(): FetchResponseClass {
  if (FetchResponseClass !== undefined) return FetchResponseClass;
  const Base = globalThis.Response;
  const Class = class Response extends Base {};
  Object.defineProperties(Class.prototype, {
    url: {
      get(this: FetchResponse): string {
        return this[kUrl];
      },
      configurable: true,
      enumerable: true,
    },
    redirected: {
      get(this: FetchResponse): boolean {
        return this[kRedirected];
      },
      configurable: true,
      enumerable: true,
    },
    type: {
      get(): 'basic' {
        return 'basic';
      },
      configurable: true,
      enumerable: true,
    },
    [bodyReceivedKey]: {
      value(this: FetchResponse): number | undefined {
        return this[kSource]?.receivedInFull();
      },
      configurable: true,
      writable: true,
    },
    // A clone is a fetched response too (ky hands each `afterResponse` hook a clone): the same `url`,
    // `redirected`, `type` and status. It says nothing of its body's arrival (a branch of a tee).
    clone: {
      value(this: FetchResponse): Response {
        const copy = Reflect.apply(Base.prototype.clone, this, []) as FetchResponse;
        Object.setPrototypeOf(copy, Class.prototype);
        copy[kUrl] = this[kUrl];
        copy[kRedirected] = this[kRedirected];
        copy[kSource] = null;
        if (Object.hasOwn(this, 'status')) {
          Object.defineProperty(copy, 'status', { value: this.status, enumerable: true });
          Object.defineProperty(copy, 'ok', { value: false, enumerable: true });
        }
        return copy;
      },
      configurable: true,
      writable: true,
    },
  });
  FetchResponseClass = Class as unknown as FetchResponseClass;
  return FetchResponseClass;
}

/** The fetch standard's null body statuses (a body is never exposed for them). */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/**
 * A fetched response from its head (`headers` flat `[name, value, ...]`): `url` is the final URL without its
 * fragment. Statuses outside 200–599 (which the
 * `Response` constructor refuses but a server may send) are set on the instance, with `ok` false; a status
 * text the constructor refuses is dropped.
 */
export function makeResponse(
  body: ReadableStream<Uint8Array> | null,
  status: number,
  statusText: string,
  headers: readonly string[],
  url: URL,
  redirected: boolean,
  source: BodySource | null = null,
): Response {
  const inRange = status >= 200 && status <= 599;
  const Class = FetchResponseClass ?? fetchResponseClass();
  let response: FetchResponse;
  try {
    response = new Class(body, { status: inRange ? status : 200, statusText });
  } catch {
    response = new Class(body, { status: inRange ? status : 200 });
  }
  const list = response.headers;
  for (let i = 0; i < headers.length; i += 2) {
    try {
      list.append(headers[i]!, headers[i + 1]!);
    } catch {
      // A header the Headers class refuses (a NUL byte...) is dropped.
    }
  }
  const href = url.href;
  const fragment = href.indexOf('#');
  response[kUrl] = fragment === -1 ? href : href.slice(0, fragment);
  response[kRedirected] = redirected;
  response[kSource] = source;
  if (!inRange) {
    Object.defineProperty(response, 'status', { value: status, enumerable: true });
    Object.defineProperty(response, 'ok', { value: false, enumerable: true });
  }
  return response;
}

/** Counters of what an upstream (or one route, or one Host) received. A snapshot, not live. */
export type RouteCounters = {
  /** Requests received. */
  requests: number;
  /** Request bodies seen (utf8), in order of completion. */
  bodies: string[];
  /** Requests between "received" and "response finished or socket closed", right now. */
  inFlight: number;
  /** Highest `inFlight` since start (or the last `reset()`). */
  peakInFlight: number;
  /** TCP connections whose first request was counted here. */
  connections: number;
  /** Request headers seen, in order (e.g. to check `Idempotency-Key` or attempt headers). */
  headers: Array<Record<string, string | string[] | undefined>>;
  /** Responses by status code (a response counts when its head is sent; resets and down-schedule answers included). */
  statuses: Record<string, number>;
};

/** The live, mutable counters behind a {@link RouteCounters} snapshot. */
export class CounterRecord {
  requests = 0;
  bodies: string[] = [];
  inFlight = 0;
  peakInFlight = 0;
  connections = 0;
  headers: Array<Record<string, string | string[] | undefined>> = [];
  statuses: Record<string, number> = {};

  begin(headers: Record<string, string | string[] | undefined>, firstOnConnection: boolean): void {
    this.requests += 1;
    this.inFlight += 1;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    this.headers.push(headers);
    if (firstOnConnection) this.connections += 1;
  }

  end(): void {
    this.inFlight -= 1;
  }

  status(code: number): void {
    this.statuses[code] = (this.statuses[code] ?? 0) + 1;
  }

  /** Zeroes everything except the requests still in flight. */
  reset(): void {
    this.requests = 0;
    this.bodies = [];
    this.peakInFlight = this.inFlight;
    this.connections = 0;
    this.headers = [];
    this.statuses = {};
  }

  snapshot(): RouteCounters {
    return {
      requests: this.requests,
      bodies: [...this.bodies],
      inFlight: this.inFlight,
      peakInFlight: this.peakInFlight,
      connections: this.connections,
      headers: this.headers.map((h) => ({ ...h })),
      statuses: { ...this.statuses },
    };
  }
}

/** Zeroed counters, for a route or host that has seen nothing. */
export function emptyCounters(): RouteCounters {
  return new CounterRecord().snapshot();
}

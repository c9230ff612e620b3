/**
 * A token bucket: `burst` tokens at most, refilled at `rate` tokens per second, on an injected
 * clock (ms). A clock that goes backwards refills nothing.
 */
export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  #tokens: number;
  #last: number;

  constructor(rate: number, burst: number, now: number) {
    this.rate = rate;
    this.burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }

  #refill(now: number): void {
    const elapsed = now - this.#last;
    if (elapsed > 0) {
      this.#tokens = Math.min(this.burst, this.#tokens + (elapsed * this.rate) / 1000);
    }
    this.#last = now;
  }

  /** Takes a token if there is one and returns 0; else takes nothing and returns the ms until there is one. */
  take(now: number): number {
    this.#refill(now);
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.#tokens) * 1000) / this.rate));
  }

  /** Tokens available now (fractional). */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }
}

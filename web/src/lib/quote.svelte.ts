// The till's price of the cart (issue 18): the server's quote (POST /api/sales/quote),
// asked a moment after the cart stops changing, kept for the cart it was asked for (its
// key: lines and discounts), out of Till.svelte so that unit tests reach it.
//
// - Only the newest request counts: an answer that arrives after a later request was
//   made (or after the cart was emptied) is dropped, so a slow answer for an old cart
//   never shows as the price of the new one.
// - Offline, or when the server cannot be reached (no answer, 502/503/504), the till
//   prices the cart itself with the server's rules (lib/tillOffline.ts): what the
//   offline receipt will say. Any other refusal is shown as it is ("price the sale").
import type { Quote } from "./cart";
import { ApiError, describeError } from "./errors";
import { Latest } from "./latest.svelte";

/** Wait this long after the last change of the cart before asking (a cashier scanning). */
export const QUOTE_DELAY_MS = 200;

/** What the cache needs of the till: each reads the cart as it is when called. */
export interface QuotePorts {
  online(): boolean;
  /** The server's quote of the cart (POST /api/sales/quote); throws ApiError. */
  remote(): Promise<Quote>;
  /** The till's own price of the cart, or why it cannot price it here. */
  local(): { quote: Quote | null; error: string };
}

interface Answer {
  key: string;
  data: Quote | null;
  error: string;
}

function unreachable(e: unknown): boolean {
  return e instanceof ApiError && (e.isNetwork || e.status === 502 || e.status === 503 || e.status === 504);
}

export class CartQuote {
  /** A request is in flight or waiting for the cart to settle. */
  quoting = $state(false);
  #answer = $state<Answer>({ key: "", data: null, error: "" });
  readonly #latest = new Latest();
  readonly #ports: QuotePorts;
  readonly #delayMs: number;

  constructor(ports: QuotePorts, delayMs = QUOTE_DELAY_MS) {
    this.#ports = ports;
    this.#delayMs = delayMs;
  }

  /** The quote of the cart with this key; null unless the last answer was for it. */
  of(key: string): Quote | null {
    return this.#answer.key === key ? this.#answer.data : null;
  }

  /** Why the cart with this key has no price ("" if it has one or none was asked). */
  errorOf(key: string): string {
    return this.#answer.key === key ? this.#answer.error : "";
  }

  /** The cart is empty: a request in flight is forgotten, nothing is pending. */
  clear(): void {
    this.#latest.cancel();
    this.quoting = false;
  }

  /** Ask for `key` once the cart has not changed for the delay; the returned function
   * cancels (an $effect's cleanup, when the cart changes again first). */
  schedule(key: string): () => void {
    this.quoting = true;
    const timer = setTimeout(() => void this.fetch(key), this.#delayMs);
    return () => clearTimeout(timer);
  }

  /** Ask now (the pay dialog opening with no price, "price again"); the quote, or null. */
  async fetch(key: string): Promise<Quote | null> {
    const current = this.#latest.begin();
    const keep = (data: Quote | null, error: string) => {
      if (current()) this.#answer = { key, data, error };
      return data;
    };
    const priceHere = () => {
      const local = this.#ports.local();
      return keep(local.quote, local.error);
    };
    this.quoting = true;
    if (!this.#ports.online()) {
      if (current()) this.quoting = false;
      return priceHere();
    }
    try {
      return keep(await this.#ports.remote(), "");
    } catch (e) {
      if (unreachable(e)) return priceHere();
      return keep(null, describeError(e, "price the sale"));
    } finally {
      if (current()) this.quoting = false;
    }
  }
}

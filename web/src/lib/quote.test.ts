import { afterEach, describe, expect, it, vi } from "vitest";
import type { Quote } from "./cart";
import { ApiError } from "./errors";
import { CartQuote, QUOTE_DELAY_MS, type QuotePorts } from "./quote.svelte";

// The till's quote cache with the outside world at its ports: the server's answers are
// promises a test settles when it wants, in the order it wants.

const quote = (total: number): Quote => ({ total_minor: total }) as Quote;

interface Pending {
  resolve: (q: Quote) => void;
  reject: (e: unknown) => void;
}

class FakeTill implements QuotePorts {
  isOnline = true;
  asked: Pending[] = [];
  localPrice: { quote: Quote | null; error: string } = { quote: quote(999), error: "" };
  localAsked = 0;

  online(): boolean {
    return this.isOnline;
  }
  remote(): Promise<Quote> {
    return new Promise((resolve, reject) => this.asked.push({ resolve, reject }));
  }
  local(): { quote: Quote | null; error: string } {
    this.localAsked++;
    return this.localPrice;
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe("the till's quote of the cart", () => {
  it("keeps the server's answer for the cart it was asked for, and only that cart", async () => {
    const till = new FakeTill();
    const quotes = new CartQuote(till);
    const asked = quotes.fetch("mug x2");
    expect(quotes.quoting).toBe(true);
    till.asked[0].resolve(quote(2500));
    expect(await asked).toEqual(quote(2500));
    expect(quotes.of("mug x2")).toEqual(quote(2500));
    expect(quotes.quoting).toBe(false);
    expect(quotes.of("mug x3")).toBeNull(); // the cart changed: no price shown for it yet
    expect(quotes.errorOf("mug x2")).toBe("");
  });

  it("drops a slow answer for an older cart once a newer one was asked for", async () => {
    const till = new FakeTill();
    const quotes = new CartQuote(till);
    const old = quotes.fetch("mug x2");
    const newer = quotes.fetch("mug x3");
    till.asked[1].resolve(quote(3750));
    await newer;
    till.asked[0].resolve(quote(2500)); // arrives last
    await old;
    expect(quotes.of("mug x3")).toEqual(quote(3750));
    expect(quotes.of("mug x2")).toBeNull();
    expect(quotes.quoting).toBe(false);
  });

  it("forgets a request in flight when the cart is emptied", async () => {
    const till = new FakeTill();
    const quotes = new CartQuote(till);
    const asked = quotes.fetch("mug x2");
    quotes.clear();
    expect(quotes.quoting).toBe(false);
    till.asked[0].resolve(quote(2500));
    await asked;
    expect(quotes.of("mug x2")).toBeNull();
  });

  it("prices the cart on the till when offline, without asking the server", async () => {
    const till = new FakeTill();
    till.isOnline = false;
    const quotes = new CartQuote(till);
    expect(await quotes.fetch("mug x2")).toEqual(quote(999));
    expect(till.asked).toHaveLength(0);
    expect(quotes.of("mug x2")).toEqual(quote(999));
    expect(quotes.quoting).toBe(false);
  });

  it("says why the till cannot price it offline", async () => {
    const till = new FakeTill();
    till.isOnline = false;
    till.localPrice = { quote: null, error: "The outlet's prices are not on this till yet." };
    const quotes = new CartQuote(till);
    expect(await quotes.fetch("mug x2")).toBeNull();
    expect(quotes.errorOf("mug x2")).toBe("The outlet's prices are not on this till yet.");
  });

  it.each([0, 502, 503, 504])("prices it on the till when the server cannot be reached (%i)", async (status) => {
    const till = new FakeTill();
    const quotes = new CartQuote(till);
    const asked = quotes.fetch("mug x2");
    till.asked[0].reject(new ApiError(status, "no answer"));
    expect(await asked).toEqual(quote(999));
    expect(till.localAsked).toBe(1);
    expect(quotes.quoting).toBe(false);
  });

  it("shows the server's refusal as it is, with no price", async () => {
    const till = new FakeTill();
    const quotes = new CartQuote(till);
    const asked = quotes.fetch("mug x2");
    till.asked[0].reject(new ApiError(422, "the discount is more than the line"));
    expect(await asked).toBeNull();
    expect(till.localAsked).toBe(0);
    expect(quotes.of("mug x2")).toBeNull();
    expect(quotes.errorOf("mug x2")).toBe("The discount is more than the line. Correct it and try again.");
    expect(quotes.errorOf("mug x3")).toBe("");
  });

  it("asks once the cart has settled, and not at all if it changes first", async () => {
    vi.useFakeTimers();
    const till = new FakeTill();
    const quotes = new CartQuote(till);
    const cancel = quotes.schedule("mug x1");
    expect(quotes.quoting).toBe(true); // the till shows it is pricing at once
    vi.advanceTimersByTime(QUOTE_DELAY_MS - 1);
    cancel(); // another scan before the delay ran out
    quotes.schedule("mug x2");
    vi.advanceTimersByTime(QUOTE_DELAY_MS);
    expect(till.asked).toHaveLength(1);
    till.asked[0].resolve(quote(2500));
    await vi.runAllTimersAsync();
    expect(quotes.of("mug x2")).toEqual(quote(2500));
    expect(quotes.of("mug x1")).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import { fillDays, groupSum, niceScale } from "./chart";
import { retryAfterMs } from "./api";
import { ApiError, describeError, detailText } from "./errors";
import { addDays, formatRate, localDay } from "./format";
import { currenciesOf, figures, inCurrency } from "./reports";
import { newId } from "./uuid";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("newId", () => {
  it("uses crypto.randomUUID when there is one", () => {
    expect(newId({ getRandomValues: crypto.getRandomValues.bind(crypto), randomUUID: () => "a-b-c-d-e" })).toBe("a-b-c-d-e");
  });
  it("makes a v4 UUID without randomUUID (plain-http LAN tills)", () => {
    const id = newId({ getRandomValues: crypto.getRandomValues.bind(crypto) } as Crypto);
    expect(id).toMatch(UUID);
    expect(newId({ getRandomValues: crypto.getRandomValues.bind(crypto) } as Crypto)).not.toBe(id);
  });
});

describe("API errors as sentences", () => {
  it("reads FastAPI's detail string and validation lists", () => {
    expect(detailText({ detail: "no product has barcode 1" }, "x")).toBe("no product has barcode 1");
    expect(
      detailText({ detail: [{ loc: ["body", "price_minor"], msg: "Input should be greater than or equal to 0" }] }, "x"),
    ).toBe("price_minor: Input should be greater than or equal to 0");
    expect(detailText({ detail: [{ loc: ["body", "id"], msg: "Value error, id must be a UUID" }] }, "x")).toBe("id: id must be a UUID");
    expect(detailText(null, "Bad Gateway")).toBe("Bad Gateway");
  });

  it("says what to do", () => {
    expect(describeError(new ApiError(0, "the server could not be reached"), "load products")).toMatch(/Check the network/);
    expect(describeError(new ApiError(422, "tendered 100 is less than the total due 145"))).toBe(
      "Tendered 100 is less than the total due 145. Correct it and try again.",
    );
    expect(describeError(new ApiError(403, "requires role: manager"), "see reports")).toMatch(/Ask a manager/);
    expect(describeError(new ApiError(429, "too many"))).toMatch(/Wait a few seconds/);
    expect(describeError(new ApiError(503, "service unavailable, try again"), "save")).toMatch(/Wait a moment/);
    expect(describeError(new Error("boom"))).toMatch(/Reload the page/);
  });
});

describe("chart helpers", () => {
  it("rounds axes up to friendly numbers", () => {
    expect(niceScale(0)).toEqual({ max: 1, ticks: [0, 1] });
    expect(niceScale(87)).toEqual({ max: 100, ticks: [0, 25, 50, 75, 100] });
    expect(niceScale(1234)).toEqual({ max: 1500, ticks: [0, 500, 1000, 1500] });
  });

  it("fills every day of the range, summing outlets", () => {
    const rows = [
      { day: "2026-03-01", v: 5 },
      { day: "2026-03-01", v: 7 },
      { day: "2026-03-03", v: 1 },
    ];
    expect(fillDays("2026-02-28", "2026-03-03", rows, (r) => r.v)).toEqual([
      { day: "2026-02-28", value: 0 },
      { day: "2026-03-01", value: 12 },
      { day: "2026-03-02", value: 0 },
      { day: "2026-03-03", value: 1 },
    ]);
  });

  it("groups and sorts", () => {
    expect(groupSum([{ k: "a", v: 1 }, { k: "b", v: 5 }, { k: "a", v: 2 }], (r) => r.k, (r) => r.v)).toEqual([
      { key: "b", value: 5 },
      { key: "a", value: 3 },
    ]);
  });
});

describe("format", () => {
  it("adds days across month ends in UTC", () => {
    expect(addDays("2026-02-28", 1)).toBe("2026-03-01");
    expect(addDays("2026-01-01", -1)).toBe("2025-12-31");
  });
  it("takes today from the browser's own calendar, not UTC's", () => {
    const zone = process.env.TZ;
    try {
      // Late evening west of UTC is already tomorrow in UTC; early morning east of it, still yesterday.
      process.env.TZ = "America/Los_Angeles";
      expect(localDay(new Date(2026, 2, 5, 23, 30))).toBe("2026-03-05");
      process.env.TZ = "Pacific/Kiritimati";
      expect(localDay(new Date(2026, 0, 1, 0, 5))).toBe("2026-01-01");
    } finally {
      process.env.TZ = zone;
      if (zone === undefined) delete process.env.TZ;
    }
  });
  it("shows tax rates", () => {
    expect(formatRate(2000)).toBe("20%");
    expect(formatRate(550)).toBe("5.5%");
    expect(formatRate(0)).toBe("0%");
  });
});

describe("dashboard figures", () => {
  const rows = [
    { day: "2026-03-01", currency: "EUR", sales_count: 2, items_sold: 3, gross_minor: 1001, tax_minor: 100 },
    { day: "2026-03-02", currency: "EUR", sales_count: 1, items_sold: 1, gross_minor: 500, tax_minor: 50 },
    { day: "2026-03-02", currency: "GBP", sales_count: 9, items_sold: 9, gross_minor: 9000, tax_minor: 900 },
  ];
  it("never adds two currencies", () => {
    expect(figures(inCurrency(rows, "EUR"))).toEqual({ sales_count: 3, items_sold: 4, gross_minor: 1501, tax_minor: 150, average_minor: 500 });
    expect(currenciesOf(rows, "EUR")).toEqual(["EUR", "GBP"]);
    expect(currenciesOf(rows, "USD")).toEqual(["EUR", "GBP"]);
  });
  it("reads rows without a currency (older report service)", () => {
    const old: { gross_minor: number; currency?: string }[] = [{ gross_minor: 1 }];
    expect(inCurrency(old, "EUR")).toHaveLength(1);
    expect(figures([])).toEqual({ sales_count: 0, items_sold: 0, gross_minor: 0, tax_minor: 0, average_minor: 0 });
  });
});

describe("Retry-After", () => {
  it("reads seconds, caps them at an hour, and ignores what it cannot read", () => {
    expect(retryAfterMs("5")).toBe(5000);
    expect(retryAfterMs(" 12 ")).toBe(12_000);
    expect(retryAfterMs("99999")).toBe(3_600_000);
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs("Wed, 21 Oct 2026 07:28:00 GMT")).toBeNull();
    expect(retryAfterMs("-1")).toBeNull();
  });
});

describe("a refused PIN in words", () => {
  it("says the PIN was wrong, asks to wait after too many, and otherwise says what failed", async () => {
    const { pinFailure } = await import("./staff");
    expect(pinFailure(new ApiError(403, "pin"), "Wrong PIN for Sam.", "switch the cashier")).toBe("Wrong PIN for Sam.");
    expect(pinFailure(new ApiError(429, "slow down"), "x", "switch")).toMatch(/^Too many PIN attempts/);
    expect(pinFailure(new ApiError(0, "the server could not be reached"), "x", "switch the cashier")).toMatch(/switch the cashier/);
  });
});

import { describe, expect, it } from "vitest";
import { ApiError } from "./errors";
import type { CurrencyInfo } from "./foreignCash";
import { ForeignTender, type ForeignPorts, type ForeignSale } from "./foreignTender.svelte";
import { formatMoney } from "./money";
import type { CachedRate, RateCache, RateView } from "./rateCache";

// Foreign cash at the pay dialog with the outside world faked at its ports: payments'
// rates, sales' settings, the rates and settings the till kept, and the clock. The
// amounts below are worked out by hand from the server's rules (ADR 0061), not by the
// functions under test.

const CHF: CurrencyInfo = { code: "CHF", name: "Swiss Franc", minor_units: 2, cash_unit_minor: 5 };
const EUR: CurrencyInfo = { code: "EUR", name: "Euro", minor_units: 2, cash_unit_minor: 1 };
const JPY: CurrencyInfo = { code: "JPY", name: "Yen", minor_units: 0, cash_unit_minor: 1 };
const NOW = Date.parse("2026-12-07T10:00:00Z");
const chf = (minor: number) => formatMoney(minor, "CHF");

const online = (currency: string, rate: string, reference_date = "2026-12-07", source = "ecb"): RateView => ({
  currency,
  rate,
  source,
  reference_date,
  age_days: 0,
  stale: false,
  usable: true,
  detail: null,
});
const kept = (currency: string, rate: string, reference_date: string): CachedRate => ({ currency, rate, source: "ecb", reference_date, seen_at: NOW });

class FakeTill implements ForeignPorts {
  accepted = ["EUR", "JPY"];
  rates: Record<string, RateView | ApiError> = { EUR: online("EUR", "1.0500"), JPY: online("JPY", "170") };
  keptAccepted: string[] = ["EUR"];
  staleAfterDays: number | undefined = 3;
  kept: RateCache | null = { base: "CHF", rates: { EUR: kept("EUR", "1.0400", "2026-12-06") }, currencies: { CHF, EUR } };
  asked: string[] = [];
  remembered: { base: string; seen: readonly RateView[]; currencies?: readonly CurrencyInfo[] }[] = [];

  async outletSettings(outletId: string) {
    this.asked.push(`settings ${outletId}`);
    return { accepted_currencies: this.accepted };
  }
  async currencies() {
    this.asked.push("currencies");
    return [CHF, EUR, JPY, { code: "GBP", name: "Pound", minor_units: 2, cash_unit_minor: 1 }];
  }
  async rate(base: string, code: string) {
    this.asked.push(`rate ${base}/${code}`);
    const answer = this.rates[code];
    if (answer instanceof ApiError) throw answer;
    return answer;
  }
  keptSettings() {
    return { accepted_currencies: this.keptAccepted, rates_stale_after_days: this.staleAfterDays };
  }
  async keptRates(base: string) {
    if (!this.kept) throw new Error("no offline store");
    return { ...this.kept, base };
  }
  async rememberRates(base: string, seen: readonly RateView[], currencies?: readonly CurrencyInfo[]) {
    this.remembered.push({ base, seen, currencies });
  }
  now() {
    return NOW;
  }
}

/** A CHF shop (cash in steps of 0.05) selling CHF 20.00. */
function setup(sale: Partial<ForeignSale> = {}) {
  const till = new FakeTill();
  const state: ForeignSale = { outletId: "outlet-1", currency: "CHF", totalMinor: 2000, cashRoundingMinor: 5, offline: false, ...sale };
  let chosen = 0;
  const foreign = new ForeignTender(till, () => state, { onchosen: () => void chosen++ });
  return { till, state, foreign, chosen: () => chosen };
}

/** The dialog opened on outlet-1 and `code` chosen. */
async function paying(code: string, sale: Partial<ForeignSale> = {}) {
  const paid = setup(sale);
  await paid.foreign.opened("outlet-1");
  await paid.foreign.choose(code);
  return paid;
}

describe("foreign cash online", () => {
  it("reads the outlet's accepted currencies once per outlet, and keeps their cash units for offline", async () => {
    const { till, foreign } = setup();
    await foreign.opened("outlet-1");
    expect(foreign.accepted).toEqual(["EUR", "JPY"]);
    expect(foreign.currencies.EUR?.name).toBe("Euro");
    expect(till.remembered[0].currencies?.map((c) => c.code).sort()).toEqual(["CHF", "EUR", "JPY"]); // not GBP
    await foreign.opened("outlet-1");
    expect(till.asked.filter((a) => a.startsWith("settings"))).toHaveLength(1);
    await foreign.opened("outlet-2");
    expect(till.asked.filter((a) => a.startsWith("settings"))).toEqual(["settings outlet-1", "settings outlet-2"]);
  });

  it("shows the amount due at payments' rate, with its source, and keeps the rate for offline", async () => {
    const { till, foreign, chosen } = await paying("EUR");
    expect(till.asked).toContain("rate CHF/EUR");
    expect(chosen()).toBe(1);
    expect(foreign.dueMinor).toBe(2100); // CHF 20.00 × 1.05
    expect(foreign.fmoney(foreign.dueMinor ?? 0)).toBe("21.00 EUR");
    expect(foreign.rateLine).toBe("1 CHF = 1.0500 EUR · ECB rate of 2026-12-07 (today's) · rounded to 0.01 EUR; change is given in CHF.");
    expect(till.remembered.at(-1)?.seen).toEqual([online("EUR", "1.0500")]);
  });

  it("gives change in the shop's currency, rounded to its cash step", async () => {
    const { foreign } = await paying("EUR");
    foreign.text = "25";
    // 4.00 EUR too much = CHF 3.8095…, to CHF 0.05 steps: CHF 3.80
    expect(foreign.paid?.settled).toBe(true);
    expect(foreign.paid?.changeMinor).toBe(380);
    expect(foreign.tenders(null)).toEqual({ tenders: [{ kind: "foreign_cash", currency: "EUR", amount_minor: 2500, quoted_rate: "1.0500" }] });
  });

  it("F9 types the exact amount due", async () => {
    const { foreign } = await paying("JPY", { totalMinor: 1995 });
    foreign.fillExact();
    expect(foreign.text).toBe("3392"); // 19.95 × 170 = 3391.5, ties to even
    expect(foreign.paid?.changeMinor).toBe(0);
  });

  it("when the foreign cash is short: the rest in the shop's cash, rounded, with change; or the rest by card", async () => {
    const { foreign } = await paying("EUR");
    foreign.text = "10";
    // 10.00 EUR is worth CHF 9.5238…, credited CHF 9.52: CHF 10.48 left, CHF 10.50 in cash
    expect(foreign.paid?.settled).toBe(false);
    expect(foreign.restMinor).toBe(1048);
    expect(foreign.stillToPayMinor).toBe(1048);
    expect(foreign.cashRest?.dueMinor).toBe(1050);
    expect(foreign.tenders(null)).toEqual({
      problem: `The EUR leaves ${chf(1050)} to pay: type the CHF cash received for it, or charge the rest (${chf(1048)}) to the card.`,
    });
    foreign.restCashText = "10";
    expect(foreign.restShortMinor).toBe(50);
    expect(foreign.tenders(null).problem).toContain("leaves");
    foreign.restCashText = "20";
    expect(foreign.cashRest?.enough).toBe(true);
    expect(foreign.cashRest?.changeMinor).toBe(950);
    expect(foreign.tenders(null).tenders).toEqual([
      { kind: "foreign_cash", currency: "EUR", amount_minor: 1000, quoted_rate: "1.0500" },
      { kind: "cash", amount_minor: 2000 },
    ]);
    foreign.restByCard = true;
    expect(foreign.tenders("tok_visa").tenders).toEqual([
      { kind: "foreign_cash", currency: "EUR", amount_minor: 1000, quoted_rate: "1.0500" },
      { kind: "card", amount_minor: 1048, card_token: "tok_visa" },
    ]);
  });

  it("says what is missing before anything is sent", async () => {
    const { till, foreign } = setup();
    await foreign.opened("outlet-1");
    expect(foreign.tenders(null)).toEqual({ problem: "Choose the currency the customer is paying in." });
    till.rates.EUR = { ...online("EUR", "1.2"), usable: false, stale: true, detail: "the EUR rate is 5 days old" };
    await foreign.choose("EUR");
    expect(foreign.refused).toBe(true);
    expect(foreign.tenders(null)).toEqual({ problem: "EUR cash cannot be taken: the EUR rate is 5 days old" });
    till.rates.EUR = online("EUR", "1.0500");
    foreign.rateChanged(); // the server said the rate changed: read again
    await new Promise((r) => setTimeout(r, 0));
    expect(foreign.refused).toBe(false);
    foreign.text = "ten";
    expect(foreign.invalid).toBe(true);
    expect(foreign.tenders(null)).toEqual({ problem: "Type the EUR received, like 21.00.", focus: true });
  });

  it("a currency in cash steps: an amount off the step is refused, saying the step", async () => {
    const till = new FakeTill();
    till.rates = { CHF: online("CHF", "0.9500") };
    const other = new ForeignTender(till, () => ({ outletId: "o", currency: "EUR", totalMinor: 1000, cashRoundingMinor: 0, offline: false }));
    other.currencies = { CHF, EUR };
    await other.choose("CHF");
    expect(other.dueMinor).toBe(950);
    other.text = "9.52";
    expect(other.offStep).toBe(true);
    expect(other.tenders(null)).toEqual({ problem: "Type the CHF received, like 9.50. CHF cash comes in steps of 0.05.", focus: true });
  });

  it("a rate that cannot be read is shown with the reason", async () => {
    const { till, foreign } = setup();
    await foreign.opened("outlet-1");
    till.rates.EUR = new ApiError(0, "no answer");
    await foreign.choose("EUR");
    expect(foreign.rate).toBeNull();
    expect(foreign.rateLoading).toBe(false);
    expect(foreign.rateError).toContain("No answer from the server while trying to get the EUR rate");
    expect(foreign.tenders(null)).toEqual({ problem: "There is no usable EUR rate yet." });
  });

  it("the one accepted currency is chosen at once; a chosen one has its rate read again", async () => {
    const { till, foreign, chosen } = setup();
    till.accepted = ["EUR"];
    await foreign.opened("outlet-1");
    await foreign.enter();
    expect(foreign.code).toBe("EUR");
    expect(chosen()).toBe(1);
    await foreign.enter();
    expect(till.asked.filter((a) => a === "rate CHF/EUR")).toHaveLength(2);
    expect(chosen()).toBe(1);
  });
});

describe("foreign cash offline", () => {
  it("takes the accepted currencies the till kept, and none when it kept no rates", async () => {
    const { till, foreign } = setup({ offline: true });
    await foreign.opened("outlet-1");
    expect(till.asked).toEqual([]); // nothing asked of the services
    expect(foreign.accepted).toEqual(["EUR"]);
    const bare = setup({ offline: true });
    bare.till.kept = null;
    await bare.foreign.opened("outlet-1");
    expect(bare.foreign.accepted).toEqual([]);
  });

  it("uses the kept rate, shown as kept with its age; what it leaves is cash only", async () => {
    const { till, foreign } = await paying("EUR", { offline: true });
    expect(till.asked).toEqual([]);
    expect(foreign.dueMinor).toBe(2080); // CHF 20.00 × 1.04
    expect(foreign.rateLine).toBe(
      "1 CHF = 1.0400 EUR · ECB rate of 2026-12-06 (1 day old) · kept on this till from when it was online · rounded to 0.01 EUR; change is given in CHF.",
    );
    foreign.text = "10";
    // 10.00 EUR at 1.04 = CHF 9.6153…, credited CHF 9.61: CHF 10.39 left, CHF 10.40 in cash
    expect(foreign.stillToPayMinor).toBe(1040);
    expect(foreign.tenders(null)).toEqual({ problem: `The EUR leaves ${chf(1040)} to pay: type the CHF cash received for it.` });
    foreign.restByCard = true; // no card offline: still the cash
    foreign.restCashText = "10.50";
    expect(foreign.cashRest?.changeMinor).toBe(10);
    expect(foreign.tenders(null).tenders).toEqual([
      { kind: "foreign_cash", currency: "EUR", amount_minor: 1000, quoted_rate: "1.0400" },
      { kind: "cash", amount_minor: 1050 },
    ]);
  });

  it("refuses a kept rate older than the shop's limit, saying how old and the limit", async () => {
    const { till, foreign } = setup({ offline: true });
    till.kept = { base: "CHF", rates: { EUR: kept("EUR", "1.0400", "2026-12-02") }, currencies: { CHF, EUR } };
    await foreign.opened("outlet-1");
    await foreign.choose("EUR");
    expect(foreign.refused).toBe(true);
    expect(foreign.pair).toBeNull();
    expect(foreign.rate?.detail).toBe(
      "the EUR rate kept on this till (ECB rate of 2026-12-02) is 5 days old; this shop takes foreign cash at a rate up to 3 days old. Take the shop's currency, or wait until the till is back online.",
    );
    expect(foreign.tenders(null).problem).toMatch(/^EUR cash cannot be taken: the EUR rate kept on this till .* is 5 days old/);
    till.staleAfterDays = 7; // the shop allows older rates
    await foreign.choose("EUR");
    expect(foreign.refused).toBe(false);
    expect(foreign.dueMinor).toBe(2080);
  });

  it("refuses a currency with no kept rate, or one the shop does not take", async () => {
    const { till, foreign } = setup({ offline: true });
    till.keptAccepted = ["EUR", "JPY"];
    await foreign.opened("outlet-1");
    await foreign.choose("JPY");
    expect(foreign.rate?.detail).toContain("this till has no JPY rate kept from when it was online");
    await foreign.choose("GBP");
    expect(foreign.rate?.detail).toBe("this outlet does not take GBP cash. Take the shop's currency.");
    expect(foreign.tenders(null)).toEqual({ problem: "GBP cash cannot be taken: this outlet does not take GBP cash. Take the shop's currency." });
  });
});

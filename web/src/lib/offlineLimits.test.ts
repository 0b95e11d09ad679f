import { describe, expect, it } from "vitest";
import { offlineFormFrom, offlineSettingsWith, validateOfflineForm } from "./offlineLimits";

const other = { currency: "EUR", tax_rates_bp: { standard: 2000 }, shop_name: "Corner Café" };

describe("offline limits form", () => {
  it("shows minor units as decimal amounts in the outlet's currency, and saves them back as minor units", () => {
    const form = offlineFormFrom({ offline_max_hours: 12, offline_max_sale_minor: 50_000, offline_card_allowed: false, offline_card_max_sale_minor: 0, offline_card_max_device_minor: 0, card_reader_url: "" }, "EUR");
    expect(form).toEqual({ maxHours: "12", maxSale: "500.00", cardAllowed: false, readerUrl: "", cardMaxSale: "", cardMaxDevice: "" });
    const edited = { ...form, cardAllowed: true, readerUrl: " https://192.168.1.50:8443/nexo ", cardMaxSale: "50", cardMaxDevice: "1,000.00" };
    expect(validateOfflineForm(edited, "EUR")).toEqual({});
    const body = offlineSettingsWith(other, edited, "EUR");
    expect(body).toEqual({
      ...other,
      offline_max_hours: 12,
      offline_max_sale_minor: 50_000,
      offline_card_allowed: true,
      offline_card_max_sale_minor: 5_000,
      offline_card_max_device_minor: 100_000,
      card_reader_url: "https://192.168.1.50:8443/nexo",
    });
  });

  it("follows the currency's digits (JPY has none, KWD three)", () => {
    expect(offlineFormFrom({ offline_max_sale_minor: 20_000 }, "JPY").maxSale).toBe("20000");
    expect(offlineSettingsWith({}, { ...offlineFormFrom({}, "KWD"), maxSale: "12.345" }, "KWD").offline_max_sale_minor).toBe(12_345);
    expect(validateOfflineForm({ ...offlineFormFrom({}, "JPY"), maxSale: "10.5" }, "JPY").maxSale).toMatch(/type an amount in JPY/);
  });

  it("uses the server's defaults for settings saved before the limits existed", () => {
    expect(offlineFormFrom({}, "EUR")).toMatchObject({ maxHours: "24", maxSale: "500.00", cardAllowed: false });
  });

  it("refuses what sales would refuse, each next to its field", () => {
    const form = offlineFormFrom({}, "EUR");
    expect(validateOfflineForm({ ...form, maxHours: "721" }, "EUR").maxHours).toMatch(/0 to 720/);
    expect(validateOfflineForm({ ...form, maxHours: "1.5" }, "EUR").maxHours).toMatch(/whole hours/);
    expect(validateOfflineForm({ ...form, maxSale: "-5" }, "EUR").maxSale).toMatch(/type an amount in EUR/);
    expect(validateOfflineForm({ ...form, readerUrl: "192.168.1.50" }, "EUR").readerUrl).toMatch(/like https:\/\//);
    const card = validateOfflineForm({ ...form, cardAllowed: true }, "EUR");
    expect(Object.keys(card).sort()).toEqual(["cardMaxDevice", "cardMaxSale", "readerUrl"]);
    const above = validateOfflineForm({ ...form, cardAllowed: true, readerUrl: "http://reader/nexo", cardMaxSale: "100", cardMaxDevice: "50" }, "EUR");
    expect(above).toEqual({ cardMaxDevice: expect.stringMatching(/at least the largest card payment/) });
    // switched off, the card fields may stay empty
    expect(validateOfflineForm(form, "EUR")).toEqual({});
    expect(() => offlineSettingsWith({}, { ...form, maxHours: "x" }, "EUR")).toThrow(RangeError);
  });
});

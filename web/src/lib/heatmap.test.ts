import { describe, expect, it } from "vitest";
import {
  busiestText,
  describeCell,
  formatAverage,
  heatGrid,
  heatValue,
  shade,
  slotName,
  weekdayCounts,
  weekdayOf,
  type HeatRow,
} from "./heatmap";
import { formatMoney } from "./money";

const row = (day: string, hour: number, sales_count: number, gross_minor: number, currency: string | undefined = "EUR"): HeatRow => ({
  day,
  hour,
  sales_count,
  gross_minor,
  currency,
});
const euros = (minor: number) => formatMoney(minor, "EUR", "en-IE");

describe("weekdays", () => {
  it("reads the calendar day as it is written, Monday = 0", () => {
    expect(weekdayOf("2024-01-01")).toBe(0); // a Monday
    expect(weekdayOf("2024-01-03")).toBe(2);
    expect(weekdayOf("2024-02-29")).toBe(3); // a Thursday, leap day
    expect(weekdayOf("2024-03-31")).toBe(6); // a Sunday, the day Europe's clocks go forward
    expect(weekdayOf("2024-12-31")).toBe(1);
  });

  it("counts each weekday of a range, both ends included", () => {
    expect(weekdayCounts("2024-01-01", "2024-01-14")).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(weekdayCounts("2024-01-01", "2024-01-01")).toEqual([1, 0, 0, 0, 0, 0, 0]);
    // From a Wednesday, 10 days: Wednesday to Friday twice, the others once.
    expect(weekdayCounts("2024-01-03", "2024-01-12")).toEqual([1, 1, 2, 2, 2, 1, 1]);
    // 30 days ending on a Sunday: Saturday and Sunday five times.
    expect(weekdayCounts("2024-03-02", "2024-03-31")).toEqual([4, 4, 4, 4, 4, 5, 5]);
    // Across the clocks going forward and a leap day: whole days still.
    expect(weekdayCounts("2024-02-26", "2024-04-07").reduce((a, b) => a + b)).toBe(42);
    expect(weekdayCounts("2024-01-02", "2024-01-01")).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });
});

describe("the heat map grid", () => {
  it("averages over every such weekday of the range, quiet ones at 0", () => {
    // Two Mondays in the range; sales on only one of them.
    const grid = heatGrid([row("2024-01-01", 10, 3, 900), row("2024-01-05", 10, 4, 1000)], "EUR", "2024-01-01", "2024-01-14");
    expect(grid.days).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(grid.hours).toEqual([10]);
    expect(grid.rows).toHaveLength(7);
    expect(grid.rows[0][0]).toEqual({ weekday: 0, hour: 10, sales: 1.5, gross_minor: 450 });
    expect(grid.rows[4][0]).toEqual({ weekday: 4, hour: 10, sales: 2, gross_minor: 500 });
    expect(grid.rows[2][0]).toEqual({ weekday: 2, hour: 10, sales: 0, gross_minor: 0 });
    expect(grid.max).toEqual({ sales: 2, gross_minor: 500 });
    expect(grid.busiest).toEqual({ weekday: 4, hour: 10, sales: 2, gross_minor: 500 });
  });

  it("adds up the days of one weekday, with missing days in between", () => {
    // Three Tuesdays (2, 9, 16 January); the middle one sold nothing.
    const grid = heatGrid([row("2024-01-02", 9, 2, 500), row("2024-01-16", 9, 7, 1300)], "EUR", "2024-01-01", "2024-01-21");
    expect(grid.days[1]).toBe(3);
    expect(grid.rows[1][0].sales).toBe(3);
    expect(grid.rows[1][0].gross_minor).toBe(600);
  });

  it("divides by the weekdays of a range starting mid-week", () => {
    // Wednesday 3 to Friday 12 January: two Wednesdays, one Monday.
    const rows = [row("2024-01-03", 12, 5, 1000), row("2024-01-10", 12, 1, 200), row("2024-01-08", 12, 3, 700)];
    const grid = heatGrid(rows, "EUR", "2024-01-03", "2024-01-12");
    expect(grid.rows[2][0].sales).toBe(3); // (5 + 1) / 2 Wednesdays
    expect(grid.rows[0][0].sales).toBe(3); // 3 / 1 Monday
    expect(grid.rows[0][0].gross_minor).toBe(700);
    expect(grid.rows[2][0].gross_minor).toBe(600);
    // A tie in sales: the one with more gross is the busiest.
    expect(grid.busiest).toMatchObject({ weekday: 0, hour: 12 });
    // A tie in both: the earlier in the week.
    const tied = heatGrid([row("2024-01-03", 12, 2, 100), row("2024-01-01", 14, 2, 100)], "EUR", "2024-01-01", "2024-01-03");
    expect(tied.busiest).toMatchObject({ weekday: 0, hour: 14 });
  });

  it("trims the hours that never sold from both edges, not from the middle", () => {
    const rows = [row("2024-01-01", 7, 1, 100), row("2024-01-02", 21, 1, 100)];
    const grid = heatGrid(rows, "EUR", "2024-01-01", "2024-01-07");
    expect(grid.hours).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]);
    expect(grid.rows.every((r) => r.length === 15)).toBe(true);
    expect(grid.rows[0][1]).toEqual({ weekday: 0, hour: 8, sales: 0, gross_minor: 0 });
  });

  it("leaves out other currencies, keeps rows without one (an older service)", () => {
    const rows = [row("2024-01-01", 10, 2, 800), row("2024-01-01", 10, 9, 9000, "GBP"), row("2024-01-01", 11, 1, 300, undefined), row("2024-01-01", 23, 4, 1, "GBP")];
    const grid = heatGrid(rows, "EUR", "2024-01-01", "2024-01-01");
    expect(grid.hours).toEqual([10, 11]);
    expect(grid.rows[0].map((c) => c.sales)).toEqual([2, 1]);
    expect(grid.rows[0].map((c) => c.gross_minor)).toEqual([800, 300]);
    expect(heatGrid(rows, "GBP", "2024-01-01", "2024-01-01").hours).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23]);
  });

  it("ignores rows outside the range, and days and hours that are none", () => {
    const rows = [
      row("2023-12-31", 10, 5, 500),
      row("2024-01-08", 10, 5, 500),
      row("2024-01-01", 24, 5, 500),
      row("2024-01-05x", 10, 5, 500), // inside the range as text, but no day
      { hour: 10, sales_count: 5, gross_minor: 500 } as HeatRow, // a per-hour row: no day
    ];
    const grid = heatGrid(rows, "EUR", "2024-01-01", "2024-01-07");
    expect(grid.hours).toEqual([]);
    expect(grid.rows.every((r) => r.length === 0)).toBe(true);
    expect(grid.busiest).toBeNull();
    expect(grid.max).toEqual({ sales: 0, gross_minor: 0 });
  });

  it("keeps an hour with only a refunded (zero-sale, negative gross) figure, and never names it busiest", () => {
    const grid = heatGrid([row("2024-01-01", 15, 0, -300)], "EUR", "2024-01-01", "2024-01-07");
    expect(grid.hours).toEqual([15]);
    expect(grid.busiest).toBeNull();
  });
});

describe("what the heat map says", () => {
  const cell = { weekday: 4, hour: 12, sales: 14.5, gross_minor: 31_019.6 };

  it("names the slot and the averages", () => {
    expect(slotName(12)).toBe("12:00–13:00");
    expect(slotName(0)).toBe("00:00–01:00");
    expect(slotName(23)).toBe("23:00–00:00");
    expect(describeCell(cell, euros, "en-IE")).toBe("Friday 12:00–13:00: 14.5 sales, €310.20 on average");
    expect(describeCell({ ...cell, sales: 1, gross_minor: 400 }, euros, "en-IE")).toBe("Friday 12:00–13:00: 1 sale, €4.00 on average");
  });

  it("rounds averages to one decimal at most", () => {
    expect(formatAverage(23, "en-IE")).toBe("23");
    expect(formatAverage(7 / 5, "en-IE")).toBe("1.4");
    expect(formatAverage(2 / 3, "en-IE")).toBe("0.7");
    expect(formatAverage(1234.56, "en-IE")).toBe("1,234.6");
  });

  it("names the busiest slot in a sentence", () => {
    expect(busiestText({ weekday: 5, hour: 12, sales: 23, gross_minor: 0 }, "en-IE")).toBe("Busiest: Saturday 12:00–13:00, 23 sales on average");
    expect(busiestText(null)).toBe("No sales in this period.");
  });

  it("shades from 0 to the largest value", () => {
    expect(heatValue(cell, "sales")).toBe(14.5);
    expect(heatValue(cell, "gross")).toBe(31_019.6);
    expect(shade(0, 10)).toBe(0);
    expect(shade(5, 10)).toBe(0.5);
    expect(shade(10, 10)).toBe(1);
    expect(shade(-3, 10)).toBe(0);
    expect(shade(3, 0)).toBe(0);
  });
});

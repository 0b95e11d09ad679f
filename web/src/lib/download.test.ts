import { describe, expect, it } from "vitest";
import { downloadName } from "./api";

describe("the name a download is saved as", () => {
  it("is the server's, else the fallback", () => {
    expect(downloadName('attachment; filename="sales-daily_2024-01-01_2024-01-30.csv"', "sales-daily.csv")).toBe(
      "sales-daily_2024-01-01_2024-01-30.csv",
    );
    expect(downloadName("", "sales-daily.csv")).toBe("sales-daily.csv");
  });
});

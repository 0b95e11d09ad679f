import { describe, expect, it } from "vitest";
import { ScanDetector, stripScannedSuffix, validGtin } from "./scanner";

/** Feed `text` as key presses `gap` ms apart starting at `start`, then Enter. */
function type(detector: ScanDetector, text: string, gap: number, start = 1000, enterGap = gap): string | null {
  let t = start;
  for (const ch of text) {
    expect(detector.feed(ch, t)).toBeNull();
    t += gap;
  }
  return detector.feed("Enter", t - gap + enterGap);
}

describe("ScanDetector", () => {
  it("recognises a scanner's burst of digits ending in Enter", () => {
    expect(type(new ScanDetector(), "2000000000015", 8)).toBe("2000000000015");
    expect(type(new ScanDetector(), "96385074", 20)).toBe("96385074"); // EAN-8
  });

  it("ignores a person typing the same digits", () => {
    expect(type(new ScanDetector(), "2000000000015", 120)).toBeNull();
  });

  it("ignores short numbers typed fast (quantities, cash amounts)", () => {
    expect(type(new ScanDetector(), "20", 5)).toBeNull();
    expect(type(new ScanDetector(), "1234567", 5)).toBeNull();
  });

  it("starts over after a pause, so slow digits before a scan do not count", () => {
    const d = new ScanDetector();
    d.feed("4", 0);
    d.feed("2", 300);
    expect(type(d, "2000000000015", 5, 2000)).toBe("2000000000015");
  });

  it("refuses a scan whose Enter comes late (a person pressed Enter)", () => {
    expect(type(new ScanDetector(), "2000000000015", 5, 1000, 500)).toBeNull();
  });

  it("starts over after a long gap in the middle (what is left is too short)", () => {
    const d = new ScanDetector();
    let t = 0;
    for (const ch of "200000") d.feed(ch, (t += 5));
    t += 400;
    for (const ch of "0000015") d.feed(ch, (t += 5));
    expect(d.feed("Enter", t + 5)).toBe(null);
  });

  it("leaves out digits typed by hand just before a scan", () => {
    const d = new ScanDetector();
    expect(validGtin("72000000000015")).toBe(false);
    d.feed("7", 0);
    expect(type(d, "2000000000015", 5, 150)).toBe("2000000000015");
  });

  it("is broken by other keys but not by Shift", () => {
    const d = new ScanDetector();
    d.feed("2", 0);
    d.feed("x", 5);
    expect(d.pending).toBe("");
    expect(type(d, "2000000000015", 5)).toBe("2000000000015");
    const s = new ScanDetector();
    let t = 0;
    for (const ch of "20000000") {
      s.feed("Shift", (t += 2));
      s.feed(ch, (t += 2));
    }
    expect(s.feed("Enter", t + 3)).toBe("20000000");
  });

  it("keeps at most the newest 14 digits of an over-long burst", () => {
    expect(type(new ScanDetector({ maxLength: 14 }), "999999999999999999", 5)).toBe("99999999999999");
    expect(type(new ScanDetector({ maxLength: 14, minLength: 15 }), "999999999999999999", 5)).toBeNull();
    // ... preferring the longest tail with a valid check digit
    expect(type(new ScanDetector(), "12" + "2000000000015", 5)).toBe("2000000000015");
  });

  it("is ready for the next scan after one", () => {
    const d = new ScanDetector();
    expect(type(d, "2000000000015", 5, 0)).toBe("2000000000015");
    expect(type(d, "2000000000022", 5, 500)).toBe("2000000000022");
    expect(d.pending).toBe("");
  });
});

describe("stripScannedSuffix", () => {
  it("takes the scanned digits back out of a text field", () => {
    expect(stripScannedSuffix("crois2000000000015", "2000000000015")).toBe("crois");
    expect(stripScannedSuffix("2000000000015", "2000000000015")).toBe("");
    expect(stripScannedSuffix("milk", "2000000000015")).toBe("milk");
  });
});

describe("ScanDetector thresholds", () => {
  it("tolerates a busy machine's jitter but not a fast person", () => {
    // A scanner whose keys arrive unevenly (a loaded till): still a scan.
    const d = new ScanDetector();
    const gaps = [2, 90, 3, 60, 4, 95, 2, 70, 5, 3, 80, 4];
    let t = 0;
    for (const [i, ch] of [..."2000000000015"].entries()) {
      d.feed(ch, t);
      t += gaps[i] ?? 5;
    }
    expect(d.feed("Enter", t)).toBe("2000000000015");
    // A very fast typist: 9 keys at 90 ms is far above the average a scan allows.
    expect(type(new ScanDetector(), "20000000", 90)).toBeNull();
  });
});

describe("validGtin", () => {
  it("checks the GS1 check digit of EAN-8, UPC-A, EAN-13 and GTIN-14", () => {
    expect(validGtin("2000000000015")).toBe(true);
    expect(validGtin("2000000000016")).toBe(false);
    expect(validGtin("96385074")).toBe(true);
    expect(validGtin("036000291452")).toBe(true);
    expect(validGtin("10036000291459")).toBe(true);
    expect(validGtin("1234567")).toBe(false);
    expect(validGtin("abcdefgh")).toBe(false);
  });
});

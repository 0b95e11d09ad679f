import { describe, expect, it } from "vitest";
import { ScanDetector, stripScannedSuffix } from "./scanner";

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

  it("refuses a burst with one long gap in the middle", () => {
    const d = new ScanDetector();
    let t = 0;
    for (const ch of "200000") d.feed(ch, (t += 5));
    for (const ch of "0000015") d.feed(ch, (t += 5) + 200);
    expect(d.feed("Enter", t + 205)).toBe(null);
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

  it("rejects codes longer than any barcode", () => {
    expect(type(new ScanDetector({ maxLength: 14 }), "123456789012345678", 5)).toBe("56789012345678");
    expect(type(new ScanDetector({ maxLength: 14, minLength: 15 }), "123456789012345678", 5)).toBeNull();
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

// Keyboard-wedge barcode scanners "type" the code as key presses a few milliseconds
// apart and finish with Enter. People type far slower (100 ms or more between keys), so
// a burst of digits at scanner speed followed by Enter is a scan, wherever focus is.

export interface ScannerOptions {
  /** Shortest code accepted (EAN-8 has 8 digits). */
  minLength: number;
  /** Longest code accepted (GTIN-14). */
  maxLength: number;
  /** The largest gap between two keys of one scan, Enter included. */
  maxGapMs: number;
  /** The largest average gap over the whole code. */
  maxAverageMs: number;
}

// A stall of a few hundred milliseconds can happen inside a scan (a Bluetooth scanner, a
// busy till); the average keeps people out: nobody types 8+ digits at 50 ms a key.
export const DEFAULT_SCANNER: ScannerOptions = { minLength: 8, maxLength: 14, maxGapMs: 300, maxAverageMs: 50 };

/** True when `code` is an EAN-8, UPC-A, EAN-13 or GTIN-14 with a correct GS1 check digit. */
export function validGtin(code: string): boolean {
  if (!/^(\d{8}|\d{12,14})$/.test(code)) return false;
  const body = code.slice(0, -1);
  let total = 0;
  for (let i = 0; i < body.length; i++) total += Number(body[body.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (total % 10)) % 10 === Number(code[code.length - 1]);
}

// Keys a scanner or a keyboard layout may send inside a scan without breaking it.
const IGNORED = new Set(["Shift", "Control", "Alt", "AltGraph", "Meta", "CapsLock", "NumLock", "Unidentified"]);

export class ScanDetector {
  private readonly options: ScannerOptions;
  private digits = "";
  private times: number[] = [];

  constructor(options: Partial<ScannerOptions> = {}) {
    this.options = { ...DEFAULT_SCANNER, ...options };
  }

  /** The digits collected so far (the start of a scan, or a person typing). */
  get pending(): string {
    return this.digits;
  }

  reset(): void {
    this.digits = "";
    this.times = [];
  }

  /**
   * Feed one keydown (KeyboardEvent.key and a millisecond timestamp). Returns the code
   * when this key is the Enter that completes a scan, else null.
   */
  feed(key: string, time: number): string | null {
    if (IGNORED.has(key)) return null;
    const last = this.times[this.times.length - 1];
    const gap = last === undefined ? 0 : time - last;
    if (key.length === 1 && key >= "0" && key <= "9") {
      if (last !== undefined && gap > this.options.maxGapMs) this.reset();
      this.digits += key;
      this.times.push(time);
      if (this.digits.length > this.options.maxLength) {
        // Too long for a barcode: keep only the newest digits as a possible start.
        this.digits = this.digits.slice(-this.options.maxLength);
        this.times = this.times.slice(-this.options.maxLength);
      }
      return null;
    }
    if (key === "Enter") {
      const digits = this.digits;
      const times = this.times;
      this.reset();
      if (last === undefined || gap > this.options.maxGapMs) return null;
      // Every tail of what was typed that is long enough and came at scanner speed is a
      // candidate (digits typed by hand just before a scan are not part of it). The
      // longest one with a valid check digit wins, else the longest.
      let best: string | null = null;
      for (let start = 0; start <= digits.length - this.options.minLength; start++) {
        const code = digits.slice(start);
        if ((time - times[start]) / code.length > this.options.maxAverageMs) continue;
        if (validGtin(code)) return code;
        best ??= code;
      }
      return best;
    }
    this.reset();
    return null;
  }
}

/**
 * After a scan landed in a text field, take the scanned digits back out of it (the
 * scanner typed them there before we knew it was a scan). Returns the cleaned value.
 */
export function stripScannedSuffix(value: string, code: string): string {
  return value.endsWith(code) ? value.slice(0, -code.length) : value;
}

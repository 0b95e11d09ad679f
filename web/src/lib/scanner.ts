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

export const DEFAULT_SCANNER: ScannerOptions = { minLength: 8, maxLength: 14, maxGapMs: 80, maxAverageMs: 35 };

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
      const code = this.digits;
      const times = this.times;
      this.reset();
      if (code.length < this.options.minLength || last === undefined || gap > this.options.maxGapMs) return null;
      const average = (time - times[0]) / code.length; // code.length gaps, Enter included
      return average <= this.options.maxAverageMs ? code : null;
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

// Live stock for the till: inventory's server-sent events for one outlet
// (GET /api/inventory/outlets/{outlet}/stream). The stream needs the Authorization
// header, which EventSource cannot send, so it is read with fetch() and a
// ReadableStream and parsed here. Reconnects with backoff (resuming with Last-Event-ID,
// so nothing is missed); while it is down the till falls back to polling.

export interface SseEvent {
  event: string; // "message" when the frame names none
  data: string;
  id: string | null;
}

/**
 * Server-sent event frames from text chunks as they arrive (a frame may be split
 * anywhere, lines may end in \n, \r\n or \r). Comments (":") are keep-alives; `retry:`
 * is remembered. Follows the WHATWG event-stream rules for event, data, id and retry.
 */
export class SseParser {
  private buffer = "";
  private event = "";
  private data: string[] = [];
  private id: string | null = null;
  private sawCr = false;
  /** The last event id the stream gave (sent back as Last-Event-ID on reconnect). */
  lastEventId: string | null = null;
  /** The server's reconnection delay, in ms, when it sent one. */
  retryMs: number | null = null;

  feed(chunk: string): SseEvent[] {
    let text = chunk;
    if (this.sawCr && text.startsWith("\n")) text = text.slice(1); // the \n of a \r\n split across chunks
    this.sawCr = text.endsWith("\r");
    this.buffer += text;
    const out: SseEvent[] = [];
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? "";
    for (const line of lines) {
      const done = this.line(line);
      if (done) out.push(done);
    }
    return out;
  }

  private line(line: string): SseEvent | null {
    if (line === "") {
      // A blank line ends the frame; a frame without data dispatches nothing.
      const frame = this.data.length ? { event: this.event || "message", data: this.data.join("\n"), id: this.id } : null;
      this.event = "";
      this.data = [];
      return frame;
    }
    if (line.startsWith(":")) return null;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    else if (field === "id" && !value.includes("\0")) {
      this.id = value;
      this.lastEventId = value;
    } else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    return null;
  }
}

/** Wait before reconnect attempt `attempt` (0 = first): 1 s, 2 s, 4 s ... at most 30 s, with jitter. */
export function backoffMs(attempt: number, random: () => number = Math.random, baseMs = 1000, maxMs = 30_000): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt, 16)));
  return Math.round(exp / 2 + (random() * exp) / 2); // "equal jitter": never less than half
}

/** A product's level after a movement, from a `stock` event (null: not one we can use). */
export function stockLevel(data: string): { productId: string; available: number } | null {
  try {
    const row = JSON.parse(data) as { product_id?: unknown; level?: { available?: unknown } };
    if (typeof row.product_id !== "string" || typeof row.level?.available !== "number") return null;
    return { productId: row.product_id, available: row.level.available };
  } catch {
    return null;
  }
}

export type StreamState = "connecting" | "live" | "down";

export interface StockStreamOptions {
  outletId: string;
  token: () => string | null;
  onlevel: (productId: string, available: number) => void;
  /** Reload every level (after a gap the stream cannot fill). */
  onreset: () => void;
  onstate: (state: StreamState, why: string) => void;
  fetcher?: typeof fetch;
}

/** One outlet's stream, kept open until stop(). */
export class StockStream {
  private readonly options: StockStreamOptions;
  private abort: AbortController | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private attempt = 0;
  private stopped = false;
  private lastEventId: string | null = null;

  constructor(options: StockStreamOptions) {
    this.options = options;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort?.abort();
    this.abort = null;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { outletId, token, onlevel, onreset, onstate } = this.options;
    const fetcher = this.options.fetcher ?? fetch.bind(globalThis);
    this.abort = new AbortController();
    onstate("connecting", "");
    const parser = new SseParser();
    parser.lastEventId = this.lastEventId;
    let why = "the stream ended";
    let wasLive = false;
    let clean = false;
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      const bearer = token();
      if (bearer) headers.Authorization = `Bearer ${bearer}`;
      if (this.lastEventId) headers["Last-Event-ID"] = this.lastEventId;
      const response = await fetcher(`/api/inventory/outlets/${encodeURIComponent(outletId)}/stream`, {
        headers,
        signal: this.abort.signal,
        cache: "no-store",
        credentials: "same-origin",
      });
      if (!response.ok || !response.body) {
        why = `the server answered ${response.status}`;
      } else {
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            clean = true;
            break;
          }
          for (const frame of parser.feed(value)) {
            if (parser.lastEventId) this.lastEventId = parser.lastEventId;
            if (frame.event === "ready") {
              this.attempt = 0;
              wasLive = true;
              onstate("live", "");
            } else if (frame.event === "stock") {
              const level = stockLevel(frame.data);
              if (level) onlevel(level.productId, level.available);
            } else if (frame.event === "reset") {
              this.lastEventId = null;
              onreset();
            }
          }
        }
      }
    } catch (error) {
      if (this.stopped) return;
      why = error instanceof Error && error.name !== "AbortError" ? "the connection was lost" : why;
    }
    if (this.stopped) return;
    if (wasLive && clean) {
      // The server ends every stream after a few minutes ("bye"): straight back, no gap.
      this.timer = setTimeout(() => void this.connect(), 100);
      return;
    }
    onstate("down", why);
    const wait = Math.max(parser.retryMs ?? 0, backoffMs(this.attempt++));
    this.timer = setTimeout(() => void this.connect(), wait);
  }
}

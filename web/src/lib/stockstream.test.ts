import { describe, expect, it } from "vitest";
import { backoffMs, SseParser, StockStream, stockLevel, type StreamState } from "./stockstream";

describe("server-sent event frames", () => {
  it("parses events, ids, data and skips comments", () => {
    const p = new SseParser();
    const frames = p.feed('retry: 2000\n\n: keep-alive\n\nid: 7\nevent: stock\ndata: {"a":1}\n\nevent: ready\ndata: {}\n\n');
    expect(frames).toEqual([
      { event: "stock", data: '{"a":1}', id: "7" },
      { event: "ready", data: "{}", id: "7" },
    ]);
    expect(p.retryMs).toBe(2000);
    expect(p.lastEventId).toBe("7");
  });

  it("joins frames split anywhere across chunks, with any line ending", () => {
    const text = 'id: 12\r\nevent: stock\r\ndata: {"product_id":"p1",\r\ndata: "x":2}\r\n\r\n';
    const p = new SseParser();
    const out = [];
    for (const ch of text) out.push(...p.feed(ch));
    expect(out).toEqual([{ event: "stock", data: '{"product_id":"p1",\n"x":2}', id: "12" }]);
    const q = new SseParser();
    expect([...q.feed("data: one\r"), ...q.feed("\ndata: two\r\r")]).toEqual([{ event: "message", data: "one\ntwo", id: null }]);
  });

  it("does not dispatch an unfinished frame or one without data", () => {
    const p = new SseParser();
    expect(p.feed("event: stock\ndata: {}")).toEqual([]);
    expect(p.feed("\n")).toEqual([]);
    expect(p.feed("\n")).toEqual([{ event: "stock", data: "{}", id: null }]);
    expect(p.feed("event: lonely\n\n")).toEqual([]);
    expect(p.feed("data:no space\n\n")).toEqual([{ event: "message", data: "no space", id: null }]);
  });

  it("reads a product's available level from a stock event", () => {
    expect(stockLevel('{"product_id":"p1","delta":-2,"level":{"on_hand":8,"reserved":1,"available":7}}')).toEqual({ productId: "p1", available: 7 });
    expect(stockLevel('{"product_id":"p1"}')).toBeNull();
    expect(stockLevel("not json")).toBeNull();
  });

  it("backs off exponentially with jitter, capped", () => {
    expect(backoffMs(0, () => 0)).toBe(500);
    expect(backoffMs(0, () => 1)).toBe(1000);
    expect(backoffMs(3, () => 1)).toBe(8000);
    expect(backoffMs(10, () => 1)).toBe(30_000);
    expect(backoffMs(10, () => 0)).toBe(15_000);
  });
});

function streamOf(chunks: string[], status = 200): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(new TextEncoder().encode(c));
      controller.close();
    },
  });
  return new Response(body, { status, headers: { "Content-Type": "text/event-stream" } });
}

describe("the stock stream client", () => {
  it("sends the token, reports levels, and resumes with Last-Event-ID after the server ends the stream", async () => {
    const calls: { url: string; headers: Record<string, string> }[] = [];
    const levels: [string, number][] = [];
    const states: StreamState[] = [];
    const answers = [
      streamOf(['retry: 2000\n\nevent: ready\ndata: {"last_id":3}\n\n', 'id: 4\nevent: stock\ndata: {"product_id":"p1","level":{"available":5}}\n\n', "event: bye\ndata: {}\n\n"]),
      streamOf(["event: ready\ndata: {}\n\n"]),
    ];
    let stream: StockStream | null = null;
    const done = new Promise<void>((resolve) => {
      stream = new StockStream({
        outletId: "o/1",
        token: () => "tok",
        onlevel: (p, a) => levels.push([p, a]),
        onreset: () => {},
        onstate: (s) => {
          states.push(s);
          if (calls.length === 2 && s === "live") resolve();
        },
        fetcher: (async (url: string, init: RequestInit) => {
          calls.push({ url, headers: init.headers as Record<string, string> });
          return answers.shift() ?? streamOf([]);
        }) as typeof fetch,
      });
      stream.start();
    });
    await done;
    (stream as unknown as StockStream).stop();
    expect(calls[0].url).toBe("/api/inventory/outlets/o%2F1/stream");
    expect(calls[0].headers.Authorization).toBe("Bearer tok");
    expect(calls[0].headers["Last-Event-ID"]).toBeUndefined();
    expect(calls[1].headers["Last-Event-ID"]).toBe("4");
    expect(levels).toEqual([["p1", 5]]);
    expect(states).not.toContain("down");
  });

  it("reports down when the server refuses, so the till polls", async () => {
    const states: string[] = [];
    let stream: StockStream | null = null;
    await new Promise<void>((resolve) => {
      stream = new StockStream({
        outletId: "o1",
        token: () => null,
        onlevel: () => {},
        onreset: () => {},
        onstate: (s, why) => {
          states.push(`${s}:${why}`);
          if (s === "down") resolve();
        },
        fetcher: (async () => streamOf([], 503)) as typeof fetch,
      });
      stream.start();
    });
    (stream as unknown as StockStream).stop();
    expect(states).toEqual(["connecting:", "down:the server answered 503"]);
  });
});

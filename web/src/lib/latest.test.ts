import { describe, expect, it } from "vitest";
import { Latest } from "./latest.svelte";

// Answers are promises the test settles when it wants, in the order it wants: the
// "filters changed quickly" race, without timers.
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A page's load: what it shows and the error it says, as the call sites keep them. */
function page() {
  const latest = new Latest();
  const seen = { shown: "", error: "" };
  const load = (answer: Promise<string>) =>
    latest.run(
      () => answer,
      (value) => (seen.shown = value),
      (e) => (seen.error = String(e)),
    );
  return { latest, seen, load };
}

/** The filters changed quickly: a first request, then a newer one, both still on their way. */
function twoRequests() {
  const { latest, seen, load } = page();
  const slow = deferred<string>();
  const fast = deferred<string>();
  return { latest, seen, slow, fast, first: load(slow.promise), second: load(fast.promise) };
}

describe("Latest", () => {
  it("drops a slow earlier answer once a newer request started", async () => {
    const { seen, slow, fast, first, second } = twoRequests();
    fast.resolve("outlet B");
    expect(await second).toBe(true);
    slow.resolve("outlet A");
    expect(await first).toBe(false);
    expect(seen.shown).toBe("outlet B");
  });

  it("applies answers in order when each comes before the next request", async () => {
    const { seen, load } = page();
    expect(await load(Promise.resolve("one"))).toBe(true);
    expect(await load(Promise.resolve("two"))).toBe(true);
    expect(seen.shown).toBe("two");
  });

  it("drops the error of a stale request", async () => {
    const { seen, slow, fast, first, second } = twoRequests();
    fast.resolve("fresh");
    await second;
    slow.reject(new Error("timed out"));
    expect(await first).toBe(false); // never rejects
    expect(seen).toEqual({ shown: "fresh", error: "" });
  });

  it("reports the newest request's error and applies nothing", async () => {
    const { seen, load } = page();
    const slow = deferred<string>();
    const first = load(slow.promise);
    const second = load(Promise.reject(new Error("server down")));
    expect(await second).toBe(true);
    expect(seen.error).toBe("Error: server down");
    slow.resolve("old");
    await first;
    expect(seen).toEqual({ shown: "", error: "Error: server down" });
  });

  it("reports an error thrown while applying the answer", async () => {
    const latest = new Latest();
    let error = "";
    await latest.run(
      () => Promise.resolve(1),
      () => {
        throw new Error("bad answer");
      },
      (e) => (error = String(e)),
    );
    expect(error).toBe("Error: bad answer");
  });

  it("is loading until the newest request settles, whatever the older ones do", async () => {
    expect(new Latest().loading).toBe(false);
    const { latest, slow, fast, first, second } = twoRequests();
    expect(latest.loading).toBe(true);
    slow.resolve("old"); // the older one ending does not end the newer one's loading
    await first;
    expect(latest.loading).toBe(true);
    fast.reject(new Error("no"));
    await second;
    expect(latest.loading).toBe(false);
  });

  it("cancel drops the answer on its way and stops loading", async () => {
    const { latest, seen, load } = page();
    const pending = deferred<string>();
    const request = load(pending.promise);
    latest.cancel();
    expect(latest.loading).toBe(false);
    pending.resolve("too late");
    expect(await request).toBe(false);
    expect(seen.shown).toBe("");
    expect(latest.loading).toBe(false);
  });

  it("begin: a ticket is current until the next request starts or a cancel", () => {
    const latest = new Latest();
    const a = latest.begin();
    expect(a()).toBe(true);
    const b = latest.begin();
    expect([a(), b()]).toEqual([false, true]);
    latest.cancel();
    expect(b()).toBe(false);
  });
});

// Is the till online? (issue 15) `navigator.onLine` says only whether the device has a
// network; what counts is whether the services answer. So: the browser's offline event,
// or a real request with no answer, a timeout or a 502/503/504 from the gateway, puts the
// till offline; then a probe (GET /api/sales/healthz through the gateway: 200 only when
// a sales process answers; the gateway's own /healthz would answer with every service
// down) runs with backoff until it answers, and any real answer in between also brings
// the till back. When it went offline is kept in IndexedDB, so a reload does not restart
// the outlet's offline clock.

import { openOfflineDb, readMeta, writeMeta } from "./offlineDb";

export const PROBE_PATH = "/api/sales/healthz";

/** Answers of these paths tell whether the till can sell online (the back office's
 * reports or the live stock stream being down does not make the till offline). */
export function countsForTill(path: string): boolean {
  return path.startsWith("/api/sales") || path.startsWith("/api/catalog") || path.startsWith("/api/identity");
}

/** A gateway or network failure: the services are unreachable. */
export function isUnreachableStatus(status: number): boolean {
  return status === 0 || status === 502 || status === 503 || status === 504;
}

/** Wait before probe `attempt` (0-based): 2 s doubling, capped at 60 s, with jitter. */
export function probeBackoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(60_000, 2000 * 2 ** Math.min(attempt, 16));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

export interface ConnectivityState {
  online: boolean;
  /** why the till is offline, in words ("" online) */
  reason: string;
  /** when it went offline (epoch ms), null: online */
  offlineSince: number | null;
  /** when the next probe runs (epoch ms), null: none planned */
  nextProbeAt: number | null;
}

export interface ConnectivityOptions {
  /** true when the services answer; default: GET PROBE_PATH with a 5 s timeout */
  probe?: () => Promise<boolean>;
  now?: () => number;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** where offlineSince is kept (default: the offline IndexedDB); null: memory only */
  dbName?: string | null;
  /** the window to listen to for online/offline events (default: globalThis when it has them) */
  events?: Pick<EventTarget, "addEventListener" | "removeEventListener"> | null;
  /** navigator.onLine (default: the real one, true where there is none) */
  deviceOnline?: () => boolean;
}

export async function probeServices(timeoutMs = 5000): Promise<boolean> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(PROBE_PATH, { cache: "no-store", credentials: "same-origin", signal: controller.signal });
    return response.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export class Connectivity {
  private state: ConnectivityState = { online: true, reason: "", offlineSince: null, nextProbeAt: null };
  private listeners = new Set<(s: ConnectivityState) => void>();
  private readonly probe: () => Promise<boolean>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly dbName: string | null;
  private readonly events: Pick<EventTarget, "addEventListener" | "removeEventListener"> | null;
  private readonly deviceOnline: () => boolean;
  private attempts = 0;
  private timer: unknown = null;
  private probing = false;
  private started = false;
  private readonly onOffline = () => this.markOffline("this device has no network");
  private readonly onOnline = () => this.probeSoon(true);

  constructor(options: ConnectivityOptions = {}) {
    this.probe = options.probe ?? (() => probeServices());
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.dbName = options.dbName === undefined ? "" : options.dbName;
    const g = globalThis as unknown as Partial<EventTarget>;
    this.events = options.events !== undefined ? options.events : typeof g.addEventListener === "function" ? (globalThis as unknown as EventTarget) : null;
    this.deviceOnline = options.deviceOnline ?? (() => (typeof navigator === "undefined" || navigator.onLine !== false));
  }

  get snapshot(): ConnectivityState {
    return { ...this.state };
  }

  get online(): boolean {
    return this.state.online;
  }

  subscribe(listener: (s: ConnectivityState) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot);
    return () => this.listeners.delete(listener);
  }

  private set(patch: Partial<ConnectivityState>): void {
    this.state = { ...this.state, ...patch };
    if (patch.offlineSince !== undefined && this.dbName !== null) void this.persist(this.state.offlineSince);
    const s = this.snapshot;
    for (const listener of this.listeners) listener(s);
  }

  private async persist(value: number | null): Promise<void> {
    try {
      await writeMeta(await openOfflineDb(this.dbName || undefined), "offline_since", value);
    } catch {
      /* storage unavailable: memory only */
    }
  }

  /** Load when the till went offline (a reload while offline), listen to the browser,
   * and probe at once when the till was offline or the device has no network. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.events?.addEventListener("offline", this.onOffline);
    this.events?.addEventListener("online", this.onOnline);
    let since: number | null = null;
    if (this.dbName !== null) {
      try {
        since = (await readMeta<number | null>(await openOfflineDb(this.dbName || undefined), "offline_since")) ?? null;
      } catch {
        since = null;
      }
    }
    if (!this.deviceOnline()) this.markOffline("this device has no network", since);
    else if (since !== null) this.markOffline("the services were not answering", since);
  }

  stop(): void {
    this.started = false;
    this.events?.removeEventListener("offline", this.onOffline);
    this.events?.removeEventListener("online", this.onOnline);
    this.cancel();
  }

  private cancel(): void {
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }

  /** The outcome of a real request (api.ts's observer): status 0 = no answer. */
  report(status: number, path = PROBE_PATH): void {
    if (!countsForTill(path)) return;
    if (isUnreachableStatus(status)) {
      this.markOffline(status === 0 ? "no answer from the server" : `the services are not answering (HTTP ${status})`);
    } else if (status > 0) {
      this.markOnline();
    }
  }

  /** Offline now (kept since the first moment: a later failure does not move it). */
  markOffline(reason: string, since: number | null = null): void {
    if (this.state.online || since !== null) {
      this.set({ online: false, reason, offlineSince: since ?? this.state.offlineSince ?? this.now() });
    } else if (reason !== this.state.reason) {
      this.set({ reason });
    }
    if (this.timer === null && !this.probing) this.scheduleProbe();
  }

  markOnline(): void {
    this.cancel();
    this.attempts = 0;
    if (!this.state.online || this.state.nextProbeAt !== null) this.set({ online: true, reason: "", offlineSince: null, nextProbeAt: null });
  }

  private scheduleProbe(): void {
    if (!this.started) return;
    this.cancel();
    const wait = probeBackoffMs(this.attempts++, this.random);
    this.set({ nextProbeAt: this.now() + wait });
    this.timer = this.setTimer(() => {
      this.timer = null;
      void this.probeNow();
    }, wait);
  }

  /** The browser says the network is back: probe now (backoff starts again). */
  private probeSoon(reset: boolean): void {
    if (reset) this.attempts = 0;
    if (this.state.online) return;
    this.cancel();
    void this.probeNow();
  }

  /** Ask the services now; online if they answer, else the next probe with backoff. */
  async probeNow(): Promise<boolean> {
    if (this.probing) return false;
    this.probing = true;
    let ok = false;
    try {
      ok = this.deviceOnline() && (await this.probe());
    } catch {
      ok = false;
    } finally {
      this.probing = false;
    }
    if (ok) this.markOnline();
    else if (!this.state.online) this.scheduleProbe();
    return ok;
  }
}

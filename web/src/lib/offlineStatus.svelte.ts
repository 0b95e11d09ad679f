// The offline till's state for the screens (issue 15): online or not and why, how many
// sales taken offline are not synced yet and how old the oldest is, how many need a
// manager, whether a sync is running and its last problem. One instance for the app;
// `startOfflineTill()` wires the queue, the connectivity and api.ts's request observer.

import { observeRequests } from "./api";
import { Connectivity, type ConnectivityOptions, type ConnectivityState } from "./connectivity";
import { OfflineQueue, type CloseCheck, type QueueOptions, type QueueSnapshot } from "./offlineQueue";

class OfflineStatus {
  online = $state(true);
  reason = $state("");
  offlineSince = $state<number | null>(null);
  pending = $state(0);
  needsAttention = $state(0);
  oldestCreatedAt = $state<number | null>(null);
  syncing = $state(false);
  lastError = $state("");
  /** ticks every 30 s while sales wait, so ages shown move on */
  now = $state(Date.now());

  /** How long the oldest unsynced sale has waited (ms), null: none. */
  get oldestAgeMs(): number | null {
    return this.oldestCreatedAt === null ? null : Math.max(0, this.now - this.oldestCreatedAt);
  }

  /** Sales on this till the server has not recorded yet (pending + needing attention). */
  get unsynced(): number {
    return this.pending + this.needsAttention;
  }

  setQueue(s: QueueSnapshot): void {
    this.pending = s.pending;
    this.needsAttention = s.needsAttention;
    this.oldestCreatedAt = s.oldestCreatedAt;
    this.syncing = s.syncing;
    this.lastError = s.lastError;
  }

  setConnectivity(s: ConnectivityState): void {
    this.online = s.online;
    this.reason = s.reason;
    this.offlineSince = s.offlineSince;
  }
}

export const offlineStatus = new OfflineStatus();

export interface OfflineTill {
  queue: OfflineQueue;
  connectivity: Connectivity;
  /** "Can I close the shift / log out?" (refused with the count while sales are unsynced) */
  canClose(registerId?: string | null): Promise<CloseCheck>;
  stop(): void;
}

let current: OfflineTill | null = null;

/** Start the offline machinery once (the till calls it after log-in); later calls return
 * the same one. */
export function startOfflineTill(options: { queue?: QueueOptions; connectivity?: ConnectivityOptions; status?: OfflineStatus } = {}): OfflineTill {
  if (current) return current;
  const status = options.status ?? offlineStatus;
  const connectivity = new Connectivity(options.connectivity);
  const queue = new OfflineQueue({
    shouldTry: () => connectivity.online,
    onReachability: (reachable) => (reachable ? connectivity.markOnline() : connectivity.markOffline("the services are not answering")),
    ...options.queue,
  });
  const unsubscribe = [
    queue.subscribe((s) => status.setQueue(s)),
    connectivity.subscribe((s) => {
      const back = s.online && !status.online;
      status.setConnectivity(s);
      if (back) queue.kick();
    }),
  ];
  observeRequests((code, path) => connectivity.report(code, path));
  const ticker = setInterval(() => (status.now = Date.now()), 30_000);
  void connectivity.start();
  queue.start();
  void keepStorage();
  const till: OfflineTill = {
    queue,
    connectivity,
    canClose: (registerId) => queue.canClose(registerId, { syncFirst: connectivity.online }),
    stop() {
      clearInterval(ticker);
      observeRequests(null);
      for (const u of unsubscribe) u();
      queue.stop();
      connectivity.stop();
      current = null;
    },
  };
  current = till;
  return till;
}

/** Ask the browser not to evict this site's storage (the queue of unsynced sales, the
 * catalogue) when the disk runs short. Chromium grants it to an installed or often used
 * site without asking; a refusal only means eviction stays possible under pressure. */
export async function keepStorage(storage: Pick<StorageManager, "persist" | "persisted"> | undefined = globalThis.navigator?.storage): Promise<boolean | null> {
  if (!storage?.persist || !storage.persisted) return null;
  try {
    return (await storage.persisted()) || (await storage.persist());
  } catch {
    return null;
  }
}

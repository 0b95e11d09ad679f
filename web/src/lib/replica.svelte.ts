// The till's catalogue replica as the screens see it: a Svelte 5 runes class with the
// replica's status (filled? how many products, last sync, filling progress) and the
// calls the till makes. The work is in lib/replica.ts.
//
//   import { tillReplica } from "../lib/replica.svelte";
//   tillReplica.open(outletId);           // after log-in / outlet pick: fills in the background
//   tillReplica.status.filled, .products, .lastSyncAt, .progress ...
//   await tillReplica.find(q, 24, serverSearch)  // replica or server, as catalogSource() says
//   await tillReplica.replica?.lookupBarcode(code)
//   tillReplica.close();                  // log-out / outlet change

import { session } from "./session.svelte";
import { catalogSource, httpTransport, Replica, type ChangesTransport, type ReplicaProduct, type ReplicaState, type SourceChoice } from "./replica";

export class ReplicaStatus {
  outletId = $state<string | null>(null);
  filled = $state(false);
  filling = $state(false);
  syncing = $state(false);
  products = $state(0);
  categories = $state(0);
  /** Products received by the fill in progress (progress while filling). */
  fillReceived = $state(0);
  lastSyncAt = $state<Date | null>(null);
  error = $state<string | null>(null);
  online = $state(typeof navigator === "undefined" ? true : navigator.onLine);

  /** Where search and scan go now, and what to tell the cashier. */
  source: SourceChoice = $derived(catalogSource({ filled: this.filled, fillReceived: this.fillReceived, products: this.products }, this.online));

  /** A short line for the till bar, e.g. "Catalogue: loading 45,000 products…". */
  summary: string = $derived(
    this.filled
      ? `Catalogue on this till: ${this.products.toLocaleString()} products`
      : this.filling
        ? `Loading the catalogue onto this till: ${this.fillReceived.toLocaleString()} products so far…`
        : this.error
          ? "The catalogue could not be loaded onto this till yet; searching the server."
          : "",
  );

  update(s: ReplicaState): void {
    this.outletId = s.outletId;
    this.filled = s.filled;
    this.filling = s.filling;
    this.syncing = s.syncing;
    this.products = s.products;
    this.categories = s.categories;
    this.fillReceived = s.fillReceived;
    this.lastSyncAt = s.lastSyncAt === null ? null : new Date(s.lastSyncAt);
    this.error = s.error;
  }

  reset(): void {
    this.outletId = null;
    this.filled = this.filling = this.syncing = false;
    this.products = this.categories = this.fillReceived = 0;
    this.lastSyncAt = null;
    this.error = null;
  }
}

export interface OpenOptions {
  transport?: ChangesTransport;
  pollMs?: number;
  fillLimit?: number;
}

/** Products found and where: `source` says whether the replica or the server answered,
 * `note` what to tell the cashier (a partial replica offline). */
export interface Found<T> {
  items: (ReplicaProduct | T)[];
  source: "replica" | "server";
  note: string;
}

export class TillReplica {
  readonly status = new ReplicaStatus();
  replica: Replica | null = null;
  private listening = false;

  /** Open (or keep) the replica of this outlet and start filling/syncing it. */
  open(outletId: string, options: OpenOptions = {}): Replica {
    if (this.replica?.outletId === outletId) return this.replica;
    this.close();
    this.listen();
    this.status.reset();
    this.status.outletId = outletId;
    const replica = new Replica({
      outletId,
      transport: options.transport ?? httpTransport(undefined, () => session.token),
      pollMs: options.pollMs,
      fillLimit: options.fillLimit,
      onState: (s) => {
        if (this.replica === replica) this.status.update(s);
      },
    });
    this.replica = replica;
    replica.start();
    return replica;
  }

  close(): void {
    const old = this.replica;
    this.replica = null;
    this.status.reset();
    if (old) void old.close();
  }

  /** Sync now (e.g. when the network comes back); resolves when up to date. */
  syncNow(): Promise<void> {
    return this.replica?.syncNow() ?? Promise.resolve();
  }

  /** Search where catalogSource() says: the replica, or `server(text, limit)`. */
  async find<T>(text: string, limit: number, server: (text: string, limit: number) => Promise<T[]>): Promise<Found<T>> {
    const choice = this.status.source;
    if (choice.source === "replica" && this.replica) {
      return { items: await this.replica.search(text, limit), source: "replica", note: choice.note };
    }
    return { items: await server(text, limit), source: "server", note: choice.note };
  }

  private listen(): void {
    if (this.listening || typeof window === "undefined") return;
    this.listening = true;
    window.addEventListener("online", () => {
      this.status.online = true;
      void this.syncNow().catch(() => undefined);
    });
    window.addEventListener("offline", () => (this.status.online = false));
  }
}

export const tillReplica = new TillReplica();

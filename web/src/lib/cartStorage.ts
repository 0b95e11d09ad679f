// The till's cart survives a reload of the page (same tab), per outlet (issue 18: out of
// Till.svelte): the lines, and the cart's id (a parked cart keeps it) with its discount.
import type { CartLine, Discount } from "./cart";
import type { KeyValueStore } from "./payment.svelte";

export interface SavedCart {
  lines: CartLine[];
  id?: string;
  discount?: Discount | null;
}

const linesKey = (outletId: string) => `pos.cart.${outletId}`;
const metaKey = (outletId: string) => `pos.cartMeta.${outletId}`;

function read(storage: KeyValueStore | null, key: string, fallback: string): unknown {
  try {
    return JSON.parse(storage?.getItem(key) ?? fallback);
  } catch {
    return JSON.parse(fallback);
  }
}

/** The outlet's saved cart; an empty one when nothing (or nothing readable) is saved. */
export function loadCart(storage: KeyValueStore | null, outletId: string): SavedCart {
  const lines = read(storage, linesKey(outletId), "[]");
  const meta = read(storage, metaKey(outletId), "{}") as { id?: unknown; discount?: Discount | null } | null;
  return {
    lines: Array.isArray(lines) ? (lines as CartLine[]) : [],
    ...(meta && typeof meta === "object" && typeof meta.id === "string" ? { id: meta.id } : {}),
    ...(meta && typeof meta === "object" && meta.discount ? { discount: meta.discount } : {}),
  };
}

/** Keep the cart (an empty one is forgotten). Storage disabled: memory only. */
export function saveCart(storage: KeyValueStore | null, outletId: string, cart: { lines: readonly CartLine[]; id: string; discount: Discount | null }): void {
  try {
    if (cart.lines.length) {
      storage?.setItem(linesKey(outletId), JSON.stringify(cart.lines));
      storage?.setItem(metaKey(outletId), JSON.stringify({ id: cart.id, discount: cart.discount }));
    } else {
      storage?.removeItem(linesKey(outletId));
      storage?.removeItem(metaKey(outletId));
    }
  } catch {
    /* storage disabled or full: memory only */
  }
}

/** sessionStorage when the browser has it. */
export function sessionStore(): KeyValueStore | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

// Who is logged in, where: kept in memory and in sessionStorage (one tab, gone when the
// tab closes; never localStorage, so a shared till forgets the token with the tab).

import type { Outlet, Register, TokenResponse, User } from "./types";

const KEY = "pos.session";

export interface SessionData {
  token: string;
  expiresAt: number; // epoch ms
  user: User;
  outlets: Outlet[];
  outletId: string | null;
  /** The register this till is, at the chosen outlet: null = sales rung without a
   * register (the outlet has none, or none was picked); absent = not asked yet. */
  register?: Register | null;
}

function load(): SessionData | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    if (!raw) return null;
    const data = JSON.parse(raw) as SessionData;
    if (!data.token || !data.user || data.expiresAt <= Date.now()) {
      sessionStorage.removeItem(KEY);
      return null;
    }
    return data;
  } catch {
    return null;
  }
}

class Session {
  data = $state<SessionData | null>(load());
  /** Why the user was sent back to the log-in screen (shown there). */
  notice = $state("");

  get token(): string | null {
    return this.data?.token ?? null;
  }

  get user(): User | null {
    return this.data?.user ?? null;
  }

  get outlet(): Outlet | null {
    const d = this.data;
    return d?.outlets.find((o) => o.id === d.outletId) ?? null;
  }

  get register(): Register | null {
    const r = this.data?.register ?? null;
    return r && r.outlet_id === this.data?.outletId ? r : null;
  }

  /** Whether the register question is settled for the chosen outlet (a register, or
   * knowingly none). Until then the till shows the register pick. */
  get registerSettled(): boolean {
    const d = this.data;
    if (!d || d.register === undefined) return false;
    return d.register === null || d.register.outlet_id === d.outletId;
  }

  get isManager(): boolean {
    const role = this.data?.user.role;
    return role === "manager" || role === "admin";
  }

  get isAdmin(): boolean {
    return this.data?.user.role === "admin";
  }

  outletName(id: string): string {
    return this.data?.outlets.find((o) => o.id === id)?.name ?? id.slice(0, 8);
  }

  start(answer: TokenResponse, outlets: Outlet[]): void {
    this.notice = "";
    this.data = {
      token: answer.access_token,
      expiresAt: Date.now() + answer.expires_in * 1000,
      user: answer.user,
      outlets,
      outletId: outlets.length === 1 ? outlets[0].id : null,
    };
    this.save();
  }

  /** A new access token for the same session (after a refresh). */
  renew(answer: TokenResponse): void {
    if (!this.data) return;
    this.data = { ...this.data, token: answer.access_token, expiresAt: Date.now() + answer.expires_in * 1000, user: answer.user };
    this.save();
  }

  /** Another cashier took over this till (their PIN, POST /api/identity/switch): their
   * token and outlets; the till keeps its outlet and register (identity checked that
   * they work there). */
  switchTo(answer: TokenResponse, outlets: Outlet[]): void {
    if (!this.data) return;
    const keep = outlets.some((o) => o.id === this.data?.outletId);
    this.data = {
      ...this.data,
      token: answer.access_token,
      expiresAt: Date.now() + answer.expires_in * 1000,
      user: answer.user,
      outlets,
      outletId: keep ? this.data.outletId : null,
      register: keep ? this.data.register : undefined,
    };
    this.notice = "";
    this.save();
  }

  setOutlets(outlets: Outlet[]): void {
    if (!this.data) return;
    const keep = outlets.some((o) => o.id === this.data?.outletId);
    const outletId = keep ? this.data.outletId : outlets.length === 1 ? outlets[0].id : null;
    // Another outlet: its register is asked again.
    const register = outletId === this.data.outletId ? this.data.register : undefined;
    this.data = { ...this.data, outlets, outletId, register };
    this.save();
  }

  chooseOutlet(id: string | null): void {
    if (!this.data) return;
    // The same outlet keeps its register (or its "none"); another outlet asks again.
    const register = id === this.data.outletId ? this.data.register : undefined;
    this.data = { ...this.data, outletId: id, register };
    this.save();
  }

  /** The register this till is (null: go on without one). `undefined` asks again. */
  chooseRegister(register: Register | null | undefined): void {
    if (!this.data) return;
    this.data = { ...this.data, register };
    this.save();
  }

  /** Back to the log-in screen, with a reason when it was not the user's choice. */
  end(notice = ""): void {
    this.data = null;
    this.notice = notice;
    try {
      sessionStorage.removeItem(KEY);
    } catch {
      /* storage disabled: memory only */
    }
  }

  private save(): void {
    try {
      if (this.data) sessionStorage.setItem(KEY, JSON.stringify(this.data));
    } catch {
      /* storage disabled: memory only */
    }
  }
}

export const session = new Session();

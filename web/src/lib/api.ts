// The one way the app talks to the API: same origin, bearer token, JSON, timeouts, and
// errors as ApiError with a message people can act on. A 401 ends the session.

import { ApiError, detailText } from "./errors";
import { session } from "./session.svelte";
import type { TokenResponse } from "./types";

export { ApiError } from "./errors";

export type Query = Record<string, string | number | boolean | null | undefined>;

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** Sent as JSON, unless it is a Blob/File (e.g. a CSV upload), sent as it is with `contentType`. */
  body?: unknown;
  contentType?: string;
  query?: Query;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** false for the log-in call itself (no token yet, and a 401 there is a wrong password). */
  auth?: boolean;
  /** A token to use instead of the session's (right after log-in). */
  token?: string;
}

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  if (typeof AbortSignal.any === "function") return AbortSignal.any([a, b]);
  const both = new AbortController(); // older tablets' browsers
  for (const s of [a, b]) {
    if (s.aborted) both.abort();
    else s.addEventListener("abort", () => both.abort(), { once: true });
  }
  return both.signal;
}

// Identity may keep a refresh token in an httpOnly cookie (path /api/identity). When it
// does, an expired access token is renewed once, silently; otherwise a 401 ends the
// session. Concurrent 401s share one refresh.
let refreshing: Promise<boolean> | null = null;

function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const response = await fetch("/api/identity/refresh", {
        method: "POST",
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) return false;
      session.renew((await response.json()) as TokenResponse);
      return true;
    } catch {
      return false;
    } finally {
      setTimeout(() => (refreshing = null), 0);
    }
  })();
  return refreshing;
}

/** Log out: forget the token here and end the server session (refresh cookie), if any. */
export function logout(notice = ""): void {
  session.end(notice);
  fetch("/api/identity/logout", { method: "POST", credentials: "same-origin" }).catch(() => {
    /* offline: the cookie expires by itself */
  });
}

/** Told the outcome of every request: the HTTP status, or 0 for no answer (network,
 * timeout). The offline till's connectivity (lib/connectivity.ts) listens. */
export type RequestObserver = (status: number, path: string) => void;
let observer: RequestObserver | null = null;

export function observeRequests(listener: RequestObserver | null): void {
  observer = listener;
}

/** Retry-After in seconds (the only form this project's services send), in ms; null
 * when absent or not a number of seconds. */
export function retryAfterMs(header: string | null): number | null {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return null;
  return Math.min(Number(header), 3600) * 1000;
}

async function send(path: string, options: RequestOptions, accept: string, renewed = false): Promise<Response> {
  const headers: Record<string, string> = { Accept: accept };
  const useAuth = options.auth !== false;
  const token = options.token ?? session.token;
  if (useAuth && token) headers.Authorization = `Bearer ${token}`;
  const raw = options.body instanceof Blob;
  if (options.body !== undefined) headers["Content-Type"] = raw ? (options.contentType ?? "application/octet-stream") : "application/json";
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), options.timeoutMs ?? 15_000);
  const signal = options.signal ? anySignal(options.signal, timeout.signal) : timeout.signal;
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : raw ? (options.body as Blob) : JSON.stringify(options.body),
      signal,
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (error) {
    if (options.signal?.aborted) throw error; // the caller cancelled: not an error to show
    observer?.(0, path);
    const why = timeout.signal.aborted ? "the server took too long to answer" : "the server could not be reached";
    throw new ApiError(0, why);
  } finally {
    clearTimeout(timer);
  }
  observer?.(response.status, path);
  if (!response.ok) {
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      /* not JSON (a proxy's error page) */
    }
    const error = new ApiError(
      response.status,
      detailText(body, response.statusText || `HTTP ${response.status}`),
      body,
      retryAfterMs(response.headers.get("Retry-After")),
    );
    if (response.status === 401 && useAuth && !options.token && !renewed && session.token && (await refreshSession())) {
      // Safe for every call, POST /api/sales included: a sale is deduplicated by its id.
      return send(path, options, accept, true);
    }
    if (response.status === 401 && useAuth) {
      session.end(`Your session has ended (${error.detail}). Log in again to carry on.`);
    }
    throw error;
  }
  return response;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await send(path, options, "application/json");
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** The name to save a download as: the server's (Content-Disposition: one name per
 * view, with its dates), else `fallbackName`. */
export function downloadName(disposition: string, fallbackName: string): string {
  return /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName;
}

/** A file from the API (e.g. a CSV report), fetched with the token and saved by the browser. */
export async function download(path: string, query: Query, fallbackName: string): Promise<string> {
  const response = await send(path, { query, timeoutMs: 60_000 }, "text/csv, */*");
  const blob = await response.blob();
  const name = downloadName(response.headers.get("Content-Disposition") ?? "", fallbackName);
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

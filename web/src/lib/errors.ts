// Turning API answers into sentences a cashier or manager can act on.

export class ApiError extends Error {
  readonly status: number; // 0: no answer at all (network, timeout)
  readonly detail: string;
  readonly body: unknown;
  /** what the server's Retry-After asked for, in ms (null: it did not say) */
  readonly retryAfterMs: number | null;

  constructor(status: number, detail: string, body: unknown = null, retryAfterMs: number | null = null) {
    super(detail);
    this.name = "ApiError";
    this.status = status;
    this.detail = detail;
    this.body = body;
    this.retryAfterMs = retryAfterMs;
  }

  /** No answer: the request may or may not have reached the server. */
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

interface ValidationItem {
  loc?: unknown[];
  msg?: string;
}

/** FastAPI's `detail`: a string, or a list of validation problems. */
export function detailText(body: unknown, fallback: string): string {
  if (body && typeof body === "object" && "detail" in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === "string" && detail.trim()) return detail;
    if (Array.isArray(detail) && detail.length) {
      return detail
        .map((item: ValidationItem) => {
          const where = (item.loc ?? []).filter((p) => p !== "body" && p !== "query" && p !== "path").join(".");
          const msg = (item.msg ?? "invalid value").replace(/^Value error, /, "");
          return where ? `${where}: ${msg}` : msg;
        })
        .join("; ");
    }
  }
  return fallback;
}

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const first = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(first) ? first : first + ".";
}

/** What happened and what to do, for an error from `api()`. */
export function describeError(error: unknown, action = "do that"): string {
  if (!(error instanceof ApiError)) {
    return `Something went wrong in the app while trying to ${action}. Reload the page and try again.`;
  }
  const said = sentence(error.detail);
  switch (true) {
    case error.status === 0:
      return `No answer from the server while trying to ${action}. Check the network connection, then try again.`;
    case error.status === 401:
      return `${said} Log in again.`;
    case error.status === 403:
      return `Your account may not ${action} (${error.detail}). Ask a manager or an administrator.`;
    case error.status === 404:
      return `${said} It may have been removed: reload and check.`;
    case error.status === 409:
      return `${said}`;
    case error.status === 413:
      return "That is too much data for one request. Split it up and try again.";
    case error.status === 422:
      return `${said} Correct it and try again.`;
    case error.status === 429:
      return "Too many attempts in a short time. Wait a few seconds, then try again.";
    case error.status >= 500:
      return `The server could not ${action} right now (${error.detail}). Wait a moment, then try again.`;
    default:
      return `${said}`;
  }
}

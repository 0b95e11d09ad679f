// "My account": the rules a new password and PIN must meet, checked on the screen before
// anything is sent, with the same words as identity (services/identity/pos_identity/
// domain.py: password_problem, pin_problem), and what the answers mean in words.

import { ApiError, describeError } from "./errors";

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** What is wrong with a new password (null: nothing), as identity would say it. */
export function passwordProblem(password: string, own: { email?: string; name?: string } = {}): string | null {
  const length = [...password].length; // characters, as Python counts them (not UTF-16 units)
  if (length < MIN_PASSWORD_LENGTH) return `The new password must be at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (length > MAX_PASSWORD_LENGTH) return `The new password must be at most ${MAX_PASSWORD_LENGTH} characters.`;
  const lowered = password.toLowerCase();
  if (new Set(lowered).size < 4) return "The new password must not be one or two characters repeated.";
  const email = (own.email ?? "").toLowerCase();
  for (const part of [email, email.split("@")[0], (own.name ?? "").toLowerCase()]) {
    if (part.length >= 4 && lowered.includes(part)) return "The new password must not contain your email or name.";
  }
  return null;
}

/** What is wrong with a new PIN (null: nothing): 4 to 8 digits, not one digit repeated,
 * not a straight run up or down (1234, 9876, 8901). */
export function pinProblem(pin: string): string | null {
  if (!/^[0-9]{4,8}$/.test(pin)) return "The PIN must be 4 to 8 digits.";
  if (new Set(pin).size === 1) return "The PIN must not be one digit repeated.";
  const steps = new Set<number>();
  for (let i = 1; i < pin.length; i++) steps.add((Number(pin[i]) - Number(pin[i - 1]) + 10) % 10);
  if (steps.size === 1 && (steps.has(1) || steps.has(9))) return "The PIN must not be a straight run such as 1234.";
  return null;
}

/** An error from PUT /api/identity/me/password or /me/pin, in words. */
export function describeAccountError(error: unknown, action: string): string {
  if (error instanceof ApiError && error.status === 403) {
    if (/locked/.test(error.detail)) {
      return "Too many wrong passwords: your account is locked for a while. Nothing was changed. " + sentenceOf(error.detail);
    }
    return "Your current password is not right, so nothing was changed. Type it again (too many wrong ones lock the account for 15 minutes).";
  }
  return describeError(error, action);
}

function sentenceOf(detail: string): string {
  const after = detail.split(": ").slice(1).join(": ").trim();
  if (!after) return "";
  return after[0].toUpperCase() + after.slice(1) + (/[.!?]$/.test(after) ? "" : ".");
}

// Receipts by e-mail (POST /api/sales/{id}/email): from the till's completed sale and a
// sale's page in the back office. The sale is recorded whatever happens to the mail.

import { api, ApiError } from "./api";
import { describeError } from "./errors";

export { emailProblem } from "./receiptSettings";

export interface MailedReceipt {
  sale_id: string;
  to: string;
  subject: string;
}

export function mailReceipt(saleId: string, to: string): Promise<MailedReceipt> {
  return api<MailedReceipt>(`/api/sales/${encodeURIComponent(saleId)}/email`, { method: "POST", body: { to: to.trim() } });
}

/** Why the receipt was not sent, and what to do: the server's own words when the mail
 * server is down or refused the address (they say the sale is safe, and what next). */
export function describeMailError(error: unknown): string {
  if (error instanceof ApiError && (error.status === 503 || error.status === 422) && error.detail) {
    const said = error.detail.trim();
    return /[.!?]$/.test(said) ? said : `${said}.`;
  }
  return describeError(error, "e-mail the receipt");
}

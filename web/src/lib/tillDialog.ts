// The till's one dialog at a time (issue 18): a discriminated union instead of a boolean
// per dialog, so that two can never be open together and "is any open?" is one test.
import type { Receipt } from "./types";

export type TillDialog =
  | { name: "none" }
  | { name: "pay" }
  | { name: "receipt"; receipt: Receipt }
  | { name: "clear" }
  | { name: "help" }
  /** a line's discount (its product id) or the whole sale's ("cart") */
  | { name: "discount"; target: string }
  | { name: "park" }
  | { name: "parked" }
  | { name: "void" };

export type TillDialogName = TillDialog["name"];

export const NO_DIALOG: TillDialog = { name: "none" };

/** `current` after the dialog `name` closed: a late close of a dialog that is no longer
 * the open one (the pay dialog closing as the receipt opens) changes nothing. */
export function closeDialog(current: TillDialog, name: TillDialogName): TillDialog {
  return current.name === name ? NO_DIALOG : current;
}

/** The receipt on show, or null. */
export function shownReceipt(dialog: TillDialog): Receipt | null {
  return dialog.name === "receipt" ? dialog.receipt : null;
}

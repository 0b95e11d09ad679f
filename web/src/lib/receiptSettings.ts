// What an outlet's receipts print (shop name, address, VAT/tax number, header and footer
// lines): part of the outlet's settings in sales (GET/PUT /api/sales/outlets/{id}/settings),
// edited in the back office (Receipts) and stamped on each receipt at the sale.

/** The receipt part of the outlet's settings, as sales keeps it. */
export interface ReceiptSettings {
  shop_name: string;
  address: string[];
  tax_number: string;
  receipt_header: string[];
  receipt_footer: string[];
}

/** The shop as a receipt carries it (sales stamps it at the sale). */
export interface ReceiptShop {
  name: string;
  address: string[];
  tax_number: string;
}

/** The form: one text box per field, the multi-line ones a line per row. */
export interface ReceiptForm {
  shopName: string;
  address: string;
  taxNumber: string;
  header: string;
  footer: string;
}

// The limits sales enforces (pos_sales/outlet_policy.py): checked here first, so the
// manager sees every problem at once, next to its field.
export const LIMITS = {
  shopName: 80,
  taxNumber: 40,
  addressLines: 4,
  headerLines: 8,
  footerLines: 8,
  lineLength: 120,
} as const;

/** One line per row; blank rows and the spaces around each line dropped. */
export function toLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

export function formFrom(settings: Partial<ReceiptSettings>): ReceiptForm {
  return {
    shopName: settings.shop_name ?? "",
    address: (settings.address ?? []).join("\n"),
    taxNumber: settings.tax_number ?? "",
    header: (settings.receipt_header ?? []).join("\n"),
    footer: (settings.receipt_footer ?? []).join("\n"),
  };
}

export type FormErrors = Partial<Record<keyof ReceiptForm, string>>;

// No control characters (sales refuses them in any text).
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function linesProblem(text: string, what: string, most: number): string | undefined {
  const lines = toLines(text);
  if (lines.length > most) return `${what}: at most ${most} lines (there are ${lines.length}).`;
  const long = lines.findIndex((line) => line.length > LIMITS.lineLength);
  if (long >= 0) return `${what}: line ${long + 1} is ${lines[long].length} characters; at most ${LIMITS.lineLength}.`;
  if (lines.some((line) => CONTROL.test(line))) return `${what}: remove the special (control) characters.`;
  return undefined;
}

/** What is wrong with the form, by field (empty when it can be saved). */
export function validateReceiptForm(form: ReceiptForm): FormErrors {
  const errors: FormErrors = {};
  const name = form.shopName.trim();
  if (name.length > LIMITS.shopName) errors.shopName = `Shop name: at most ${LIMITS.shopName} characters (it has ${name.length}).`;
  else if (CONTROL.test(name)) errors.shopName = "Shop name: remove the special (control) characters.";
  const tax = form.taxNumber.trim();
  if (tax.length > LIMITS.taxNumber) errors.taxNumber = `VAT/tax number: at most ${LIMITS.taxNumber} characters (it has ${tax.length}).`;
  else if (/[\r\n]/.test(tax) || CONTROL.test(tax)) errors.taxNumber = "VAT/tax number: one line, without special characters.";
  const address = linesProblem(form.address, "Address", LIMITS.addressLines);
  if (address) errors.address = address;
  const header = linesProblem(form.header, "Header", LIMITS.headerLines);
  if (header) errors.header = header;
  const footer = linesProblem(form.footer, "Footer", LIMITS.footerLines);
  if (footer) errors.footer = footer;
  return errors;
}

/** The outlet's whole settings document with the form's receipt fields in it (sales
 * replaces the document on PUT: the pricing fields go back as they came). */
export function settingsWith<T extends object>(current: T, form: ReceiptForm): T & ReceiptSettings {
  return {
    ...current,
    shop_name: form.shopName.trim(),
    address: toLines(form.address),
    tax_number: form.taxNumber.trim(),
    receipt_header: toLines(form.header),
    receipt_footer: toLines(form.footer),
  };
}

/** The receipt fields of the outlet's settings as a receipt carries them (the till's
 * own receipt for a sale taken offline). */
export function receiptPartsFrom(settings: Partial<ReceiptSettings> | null): { shop: ReceiptShop; header: string[]; footer: string[] } {
  return {
    shop: { name: settings?.shop_name ?? "", address: settings?.address ?? [], tax_number: settings?.tax_number ?? "" },
    header: settings?.receipt_header ?? [],
    footer: settings?.receipt_footer ?? [],
  };
}

/** An address as people type it (the server and the mail server judge the rest). */
export function emailProblem(address: string): string | null {
  const value = address.trim();
  if (!value) return "Type the customer's e-mail address.";
  if (value.length > 254) return "That address is too long for an e-mail address.";
  if (!/^[^@\s<>()[\],;:"]+@[^@\s<>()[\],;:"]+\.[^@\s<>()[\],;:"]+$/.test(value)) {
    return `"${value}" is not an e-mail address: type it as name@example.com.`;
  }
  return null;
}

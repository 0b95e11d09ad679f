// Product CSV files on the browser side: the template (the export's header, so a file
// made from it imports) and CSV text for figures the app itself turns into a file.

/** The columns of the catalog's product CSV, in the order the export writes them. */
export const PRODUCT_CSV_COLUMNS = [
  "sku",
  "name",
  "description",
  "barcodes",
  "category",
  "price_minor",
  "cost_minor",
  "tax_class",
  "unit",
  "active",
] as const;

/** The columns import refuses a file without. */
export const PRODUCT_CSV_REQUIRED = ["sku", "name", "price_minor"] as const;

/** One CSV field: quoted when it holds a separator, a quote or a line break. */
export function csvField(value: string | number | boolean | null | undefined): string {
  const text = value === null || value === undefined ? "" : String(value);
  return /[",;\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Rows of fields -> CSV text with CRLF line ends (what spreadsheets expect). */
export function toCsv(rows: readonly (readonly (string | number | boolean | null | undefined)[])[]): string {
  return rows.map((row) => row.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** The template: the header row alone (an example row would import a product). */
export function productCsvTemplate(): string {
  return toCsv([PRODUCT_CSV_COLUMNS]);
}

/** The first line of a CSV file split into column names (`,` or `;`, BOM and quotes removed). */
export function csvHeader(text: string): string[] {
  const first = text.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0] ?? "";
  const separator = (first.match(/;/g)?.length ?? 0) > (first.match(/,/g)?.length ?? 0) ? ";" : ",";
  return first
    .split(separator)
    .map((name) => name.trim().replace(/^"(.*)"$/, "$1").trim().toLowerCase())
    .filter(Boolean);
}

/** Required columns missing from a header (checked before uploading, to save a round trip). */
export function missingColumns(header: readonly string[]): string[] {
  return PRODUCT_CSV_REQUIRED.filter((c) => !header.includes(c));
}

/** Save text as a file (the browser's download). */
export function saveText(name: string, text: string, type = "text/csv;charset=utf-8"): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

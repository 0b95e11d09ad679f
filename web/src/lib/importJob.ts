// The product CSV import: upload the file as the request body, then follow the job
// (GET /api/catalog/imports/{id}) until it is done or failed. All or nothing: a file
// with any bad row imports nothing.
import type { components } from "./api-types/catalog";

import { api, ApiError } from "./api";

/** `row`: the line of the file; the header is row 1. */
export type ImportRowError = components["schemas"]["ImportError_"];

/** `progress`: 0..1 over both phases. */
export type ImportJob = components["schemas"]["ImportJobOut"];

export function isFinished(job: ImportJob): boolean {
  return job.status === "done" || job.status === "failed";
}

export interface ImportProgress {
  /** rows done in the current phase, for <progress value>. */
  value: number;
  /** rows in the file, for <progress max> (at least 1, so an empty bar is not "indeterminate"). */
  max: number;
  /** what a person reads next to the bar. */
  label: string;
}

/** Where a job stands, as rows done out of rows in the file. */
export function importProgress(job: ImportJob): ImportProgress {
  const total = Math.max(0, job.total_rows);
  const max = Math.max(1, total);
  const clamp = (n: number) => Math.min(max, Math.max(0, n));
  switch (job.status) {
    case "validating":
      return { value: clamp(job.validated_rows), max, label: `Checking rows: ${job.validated_rows} of ${total}` };
    case "importing":
      return { value: clamp(job.imported_rows), max, label: `Importing rows: ${job.imported_rows} of ${total}` };
    case "done":
      return {
        value: max,
        max,
        label: job.dry_run ? `Checked all ${total} rows: no errors (nothing imported, this was a check only)` : `Done: ${total} of ${total} rows`,
      };
    default:
      return { value: clamp(job.validated_rows), max, label: `Stopped: ${job.error_count} ${job.error_count === 1 ? "error" : "errors"}, nothing was imported` };
  }
}

/** The outcome in one sentence. */
export function importSummary(job: ImportJob): string {
  if (job.status === "failed") {
    if (job.error_count === 0) {
      // Failed as a whole (not row by row): the service's own words say why.
      const text = (job.message ?? "").trim().replace(/\.?$/, ".");
      const why = text.length > 1 ? ` ${text[0].toUpperCase()}${text.slice(1)}` : "";
      return `Nothing was imported.${why} Correct the file and import it again.`;
    }
    const listed = job.errors.length < job.error_count ? ` (the first ${job.errors.length} are listed)` : "";
    return `Nothing was imported: the file has ${job.error_count} ${job.error_count === 1 ? "error" : "errors"}${listed}. Correct the file and import it again.`;
  }
  if (job.status !== "done") return "";
  if (job.dry_run) return `The file is fine: ${job.total_rows} rows checked, nothing imported yet.`;
  return `Imported ${job.total_rows} rows: ${job.created} created, ${job.updated} updated, ${job.unchanged} unchanged.`;
}

/** Errors in file order (row, then column), for the table. */
export function sortedErrors(errors: readonly ImportRowError[]): ImportRowError[] {
  return [...errors].sort((a, b) => a.row - b.row || a.column.localeCompare(b.column));
}

/** Upload a CSV file: answers at once with the job (202). */
export async function startImport(file: Blob, filename: string, dryRun: boolean, signal?: AbortSignal): Promise<ImportJob> {
  try {
    // The raw file as text/csv; api() adds the token and renews an expired session.
    return await api<ImportJob>("/api/catalog/imports", {
      method: "POST",
      query: { dry_run: dryRun, filename: filename.slice(0, 200) },
      body: file,
      contentType: "text/csv",
      signal,
      timeoutMs: 120_000,
    });
  } catch (error) {
    if (error instanceof ApiError && error.status === 413) {
      throw new ApiError(413, "the file is too large for one upload: split it into smaller files", error.body);
    }
    if (signal?.aborted) throw new ApiError(0, "the upload was cancelled");
    throw error;
  }
}

// Shapes of the API's answers: the types generated from each service's OpenAPI document
// (api-types/<service>.ts, `make api-types`; ADR 0065), under the names the app uses.
// Change a shape in the service's pydantic model, never here.

import type { components as Catalog } from "./api-types/catalog";
import type { components as Identity } from "./api-types/identity";
import type { components as Inventory } from "./api-types/inventory";
import type { components as Reports } from "./api-types/reports";
import type { components as Sales } from "./api-types/sales";

type IdentitySchemas = Identity["schemas"];
type CatalogSchemas = Catalog["schemas"];
type InventorySchemas = Inventory["schemas"];
type ReportsSchemas = Reports["schemas"];
type SalesSchemas = Sales["schemas"];

// --- identity -----------------------------------------------------------------------

export type User = IdentitySchemas["UserOut"];

export type Role = User["role"];

export type TokenResponse = IdentitySchemas["TokenResponse"];

export type Outlet = IdentitySchemas["OutletOut"];

/** A till (cash drawer + receipt printer) at an outlet: receipt numbers and shifts run per register. */
export type Register = IdentitySchemas["RegisterOut"];

// --- catalog ------------------------------------------------------------------------

export type Product = CatalogSchemas["ProductOut"];

export type ProductPage = CatalogSchemas["ProductPage"];

export type Category = CatalogSchemas["CategoryOut"];

// --- inventory ----------------------------------------------------------------------

export type Level = InventorySchemas["LevelOut"];

export type LevelPage = InventorySchemas["LevelPage"];

// --- sales --------------------------------------------------------------------------

/** A row of GET /api/sales. */
export type SaleSummary = SalesSchemas["SaleSummary"];

export type SalePage = SalesSchemas["SalePage"];

export type ReceiptLine = SalesSchemas["ReceiptLine"];

/** The receipt: POST /api/sales, GET /api/sales/{id}/receipt, the reprint (with `copy`) and
 * an offline sale's sync (with `offline`). */
export type Receipt = SalesSchemas["Receipt"];

// --- reports ------------------------------------------------------------------------

/** Totals of one currency (the figures of record: never added across currencies). */
export type CurrencyTotals = ReportsSchemas["SalesFigures"];
/** A report's chain total converted into the chain currency at payments' rates (ADR 0072). */
export type ChainTotal = ReportsSchemas["ChainTotal"];
/** GET /api/reports/sales/tender-currencies: tenders per currency handed over (ADR 0072). */
export type TenderCurrencyReport = ReportsSchemas["TenderCurrencyReport"];

export type DailyRow = ReportsSchemas["DailyRow"];

export type DailyReport = ReportsSchemas["DailyReport"];

export type ItemRow = ReportsSchemas["ItemRow"];

export type ItemReport = ReportsSchemas["ItemReport"];

export type TenderReport = ReportsSchemas["TenderReport"];

/** GET /api/reports/sales/cashiers (by=cashier or by=register). */
export type CashierReport = ReportsSchemas["CashierReport"];

export type CategoryReport = ReportsSchemas["CategoryReport"];

/** GET /api/reports/sales/outlets: each outlet against the period of the same length just before. */
export type OutletReport = ReportsSchemas["OutletReport"];

export type OutletRow = ReportsSchemas["OutletRow"];

/** GET /api/reports/stock/valuation: stock on hand now at the current cost price, per outlet. */
export type ValuationReport = ReportsSchemas["ValuationReport"];

export type ValuationRow = ReportsSchemas["ValuationRow"];

// --- the web app's own ----------------------------------------------------------------

/** The till's view of a cart line's stock (GET /api/inventory/stock/{outlet}/{product}). */
export interface StockInfo {
  available: number | null;
  loading: boolean;
  error: string;
  fetchedAt: number;
}

// Shapes of the API's answers. The sales ones are the types generated from the sales
// service's OpenAPI document (api-types/sales.ts, `make api-types`); the rest are still
// written by hand here (see services/*/pos_*/schemas.py).

import type { components } from "./api-types/sales";
import type { components as ReportsComponents } from "./api-types/reports";

type SalesSchemas = components["schemas"];

export type Role = "cashier" | "manager" | "admin";

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  outlets: string[];
  active: boolean;
}

export interface TokenResponse {
  access_token: string;
  token_type: "bearer";
  expires_in: number;
  user: User;
}

export interface Outlet {
  id: string;
  name: string;
  currency: string;
  timezone: string;
}

/** A till (cash drawer + receipt printer) at an outlet: receipt numbers and shifts run per register. */
export interface Register {
  id: string;
  outlet_id: string;
  /** the register's number in its outlet (receipt numbers carry it); older identity: absent */
  number?: number;
  name: string;
  active: boolean;
}

export interface Product {
  id: string;
  sku: string;
  name: string;
  description: string;
  barcodes: string[];
  category_id: string | null;
  price_minor: number;
  cost_minor: number;
  currency: string;
  tax_class: "standard" | "reduced" | "zero";
  active: boolean;
  /** Newer catalog: this outlet's own price, when asked with ?outlet_id= and one is set. */
  outlet_price_minor?: number | null;
  /** The product's picture, at most 320 px a side; null or absent: none. */
  image_url?: string | null;
  /** The same at most 96 px a side (the till's tiles and search results). */
  thumbnail_url?: string | null;
}

export interface ProductPage {
  items: Product[];
  total: number;
  limit: number;
  offset: number;
}

export interface Category {
  id: string;
  name: string;
  parent_id: string | null;
}

export interface Level {
  outlet_id: string;
  product_id: string;
  sku: string | null;
  name: string | null;
  on_hand: number;
  reserved: number;
  available: number;
  reorder_point: number;
}

export interface LevelPage {
  items: Level[];
  total: number;
}

/** A row of GET /api/sales. */
export type SaleSummary = SalesSchemas["SaleSummary"];

export type SalePage = SalesSchemas["SalePage"];

export type ReceiptLine = SalesSchemas["ReceiptLine"];

/** The receipt: POST /api/sales, GET /api/sales/{id}/receipt, the reprint (with `copy`) and
 * an offline sale's sync (with `offline`). */
export type Receipt = SalesSchemas["Receipt"];

// Reports: older and newer report services differ; only these fields are relied on.
// Newer ones add `currency` to every money row and give totals per currency.
export interface DailyRow {
  day: string;
  outlet_id: string | null;
  currency?: string;
  sales_count: number;
  items_sold: number;
  gross_minor: number;
  tax_minor: number;
  net_minor: number;
}

/** Totals of one currency (the figures of record: never added across currencies). */
export type CurrencyTotals = ReportsComponents["schemas"]["SalesFigures"];
/** A report's chain total converted into the chain currency at payments' rates (ADR 0072). */
export type ChainTotal = ReportsComponents["schemas"]["ChainTotal"];

/** GET /api/reports/sales/tender-currencies: tenders per currency handed over (ADR 0072). */
export type TenderCurrencyReport = ReportsComponents["schemas"]["TenderCurrencyReport"];

export interface DailyReport {
  date_from: string;
  date_to: string;
  rows: DailyRow[];
  /** Newer reports service: totals per currency, and with several a converted chain total. */
  totals_by_currency?: CurrencyTotals[];
  chain_total?: ChainTotal | null;
}

export interface ItemRow {
  product_id: string;
  sku: string;
  name: string;
  qty: number;
  gross_minor: number;
  currency?: string;
  /** Newer reports service: net after refunds - cost at the time of sale, and its share of net. */
  margin_minor?: number;
  margin_bp?: number | null;
}

export interface ItemReport {
  date_from: string;
  date_to: string;
  rows: ItemRow[];
}

export interface TenderReport {
  date_from: string;
  date_to: string;
  rows: { kind: string; amount_minor: number; count: number; currency?: string }[];
}

/** GET /api/reports/sales/cashiers (by=cashier or by=register). */
export interface CashierReport {
  date_from: string;
  date_to: string;
  by: string;
  rows: {
    cashier_id?: string | null;
    cashier_name?: string | null;
    outlet_id?: string | null;
    register_id?: string | null;
    /** Newer reports service: the register's name from identity (null: not announced). */
    register_name?: string | null;
    sales_count: number;
    gross_minor: number;
    refund_minor: number;
    void_count: number;
    currency?: string;
  }[];
}

export interface CategoryReport {
  date_from: string;
  date_to: string;
  rows: { category_id: string | null; name: string; qty: number; gross_minor: number; currency?: string }[];
}

/** GET /api/reports/sales/outlets: each outlet against the period of the same length just before. */
export interface OutletReport {
  date_from: string;
  date_to: string;
  previous_from: string;
  previous_to: string;
  rows: OutletRow[];
}

export interface OutletRow {
  outlet_id: string;
  name: string;
  timezone: string;
  currency: string;
  sales_count: number;
  gross_minor: number;
  average_basket_minor: number;
  previous_gross_minor: number;
  previous_sales_count: number;
  /** Change of gross against the previous period, in basis points; null: nothing sold before. */
  gross_change_bp: number | null;
}

/** GET /api/reports/stock/valuation: stock on hand now at the current cost price, per outlet. */
export interface ValuationReport {
  rows: ValuationRow[];
  totals_by_currency: { currency: string; units: number; value_minor: number }[];
}

export interface ValuationRow {
  outlet_id: string;
  outlet_name: string;
  /** The products' currency; "" while the catalog has not announced a product yet. */
  currency: string;
  products_in_stock: number;
  units: number;
  value_minor: number;
  /** Oversold products (negative levels), counted at zero. */
  negative_products: number;
  /** Products in stock with no cost price: counted in units, worth 0. */
  uncosted_products: number;
}

/** The till's view of a cart line's stock (GET /api/inventory/stock/{outlet}/{product}). */
export interface StockInfo {
  available: number | null;
  loading: boolean;
  error: string;
  fetchedAt: number;
}

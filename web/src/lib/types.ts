// Shapes of the API's answers (see services/*/pos_*/schemas.py).

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

export interface SaleSummary {
  id: string;
  outlet_id: string;
  cashier_id: string;
  status: "PENDING" | "COMPLETED" | "FAILED";
  fulfilment: string;
  receipt_number: string | null;
  currency: string;
  total_minor: number;
  created_at: string;
  /** builtin | external | estimated (the external tax API did not answer in time) */
  tax_source?: string;
  tax_estimated?: boolean;
}

export interface SalePage {
  items: SaleSummary[];
  total: number;
}

export interface ReceiptLine {
  line_no: number;
  product_id: string;
  sku: string;
  name: string;
  qty: number;
  unit_price_minor: number;
  tax_rate_bp: number;
  tax_minor: number;
  total_minor: number;
  /** Newer sales service: before and off (line discount + share of the cart discount). */
  gross_minor?: number;
  discount_minor?: number;
}

export interface Receipt {
  /** Set on a reprint: the receipt is printed again marked COPY n (reprints are counted). */
  copy?: number;
  sale_id: string;
  receipt_number: string;
  outlet_id: string;
  cashier_id: string;
  cashier_name: string;
  status: string;
  currency: string;
  lines: ReceiptLine[];
  tax: { rate_bp: number; net_minor: number; tax_minor: number }[];
  items: number;
  subtotal_minor: number;
  tax_minor: number;
  total_minor: number;
  /** Newer sales service: total before discounts, the discounts, the cash rounding. */
  gross_minor?: number;
  discount_minor?: number;
  rounding_minor?: number;
  tenders: {
    kind: string;
    amount_minor: number;
    tendered_minor: number;
    // foreign_cash (issue 16): the currency handed over, how much, the amount due in it,
    // the rate the server stamped (units of it per unit of the receipt's currency), its
    // source and date, and the change given in the receipt's currency
    currency?: string;
    foreign_minor?: number;
    due_foreign_minor?: number;
    change_minor?: number;
    rate?: string;
    rate_source?: string;
    rate_as_of?: string;
  }[];
  tendered_minor: number;
  change_minor: number;
  completed_at: string;
  /** taken while the till could not reach the services; synced later */
  offline?: boolean;
  /** The outlet's receipt settings stamped at the sale (newer sales service). */
  shop?: { name: string; address: string[]; tax_number: string } | null;
  header?: string[];
  footer?: string[];
}

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

export interface DailyReport {
  date_from: string;
  date_to: string;
  rows: DailyRow[];
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

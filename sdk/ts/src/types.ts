// The API's objects, as its OpenAPI 3.1 description (GET /v1/openapi.json)
// gives them: snake_case fields, amounts as integers in the currency's minor
// unit, timestamps as RFC 3339 strings, null where the API may answer null.

export type Metadata = Record<string, string>;

export interface List<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

export interface LineItem {
  name: string;
  description: string | null;
  unit_amount: number;
  quantity: number;
  image_url: string | null;
  price_id: string | null;
  product_id: string | null;
  amount_subtotal: number;
  amount_discount: number;
  amount_total: number;
}

export interface CheckoutSession {
  id: string;
  object: 'checkout.session';
  site_id: string;
  status: 'open' | 'complete' | 'expired';
  payment_status: 'unpaid' | 'paid';
  url: string;
  amount: number;
  amount_subtotal: number;
  amount_tax: number;
  amount_total: number;
  currency: string;
  line_items: LineItem[];
  total_details: { amount_discount: number; amount_tax: number } | null;
  customer: string | null;
  customer_email: string | null;
  customer_phone: string | null;
  success_url: string;
  cancel_url: string;
  metadata: Metadata;
  order_id: string | null;
  client_reference_id: string | null;
  description: string | null;
  reference: string;
  payment: string | null;
  livemode: boolean;
  payment_method_types: string[];
  locale: string;
  notify_url: string | null;
  processing_fee: number | null;
  net_amount: number | null;
  expires_at: string;
  created_at: string;
  completed_at: string | null;
}

export interface LineItemParams {
  name?: string;
  description?: string;
  unit_amount?: number;
  quantity?: number;
  image_url?: string;
  price_id?: string;
  adjustable_quantity?: { enabled: boolean; minimum?: number; maximum?: number };
}

/** Give `amount` or `line_items`. */
export interface CheckoutSessionCreateParams {
  site_id?: string;
  amount?: number;
  line_items?: LineItemParams[];
  currency?: string;
  success_url?: string;
  cancel_url?: string;
  customer?: string;
  customer_id?: string;
  customer_email?: string;
  customer_phone?: string;
  client_reference_id?: string;
  order_id?: string;
  description?: string;
  metadata?: Metadata;
  expires_at?: string;
  expires_in_minutes?: number;
  expires_in_hours?: number;
  payment_method_types?: string[];
  locale?: string;
  notify_url?: string;
  coupon_id?: string;
  promotion_code?: string;
  allow_promotion_codes?: boolean;
}

export interface ListParams {
  /** 1–100; the API's default is 10. */
  limit?: number;
  starting_after?: string;
  ending_before?: string;
}

export interface CreatedFilter {
  gte?: string | number;
  gt?: string | number;
  lte?: string | number;
  lt?: string | number;
}

export interface CheckoutSessionListParams extends ListParams {
  site_id?: string;
  status?: string;
  payment_status?: string;
  customer?: string;
  customer_email?: string;
  payment?: string;
  order_id?: string;
  reference?: string;
  currency?: string;
  amount_gte?: number;
  amount_lte?: number;
  created?: CreatedFilter;
}

export interface Refund {
  id: string;
  object: 'refund';
  payment: string;
  amount: number;
  currency: string;
  status: 'pending' | 'succeeded' | 'failed';
  reason: string | null;
  failure_reason: string | null;
  metadata: Metadata;
  livemode: boolean;
  created_at: string;
}

export interface Payment {
  id: string;
  object: 'payment';
  checkout_session: string;
  status: string;
  method: string;
  provider: string;
  amount: number;
  amount_tax: number;
  amount_received: number;
  amount_refunded: number;
  amount_overpaid: number;
  currency: string;
  fee: number;
  fee_currency: string;
  processing_fee: number | null;
  net_amount: number | null;
  failure_code: string | null;
  failure_message: string | null;
  card: { brand: string; last4: string } | null;
  refunds: Refund[];
  livemode: boolean;
  created_at: string;
  updated_at: string;
}

export interface PaymentListParams extends ListParams {
  checkout_session?: string;
  status?: string;
  created?: CreatedFilter;
}

export interface RefundCreateParams {
  payment: string;
  /** Defaults to all that is left. */
  amount?: number;
  reason?: 'duplicate' | 'fraudulent' | 'requested_by_customer';
  metadata?: Metadata;
}

export interface RefundListParams extends ListParams {
  payment?: string;
}

export interface WebhookEndpoint {
  id: string;
  object: 'webhook_endpoint';
  url: string;
  description: string;
  enabled_events: string[];
  status: 'enabled' | 'disabled';
  disabled_reason: string | null;
  api_version: string | null;
  signature_format: string;
  /** Only in the answers to create and rotateSecret. */
  secret: string | null;
  livemode: boolean;
  created_at: string;
}

export interface WebhookEndpointCreateParams {
  url: string;
  enabled_events?: string[];
  description?: string;
}

export interface WebhookEndpointUpdateParams {
  url?: string;
  enabled_events?: string[];
  description?: string;
  disabled?: boolean;
}

export interface Deleted {
  id: string;
  object: string;
  deleted: boolean;
}

export interface Event<T = unknown> {
  id: string;
  object: 'event';
  type: string;
  sequence: number;
  livemode: boolean;
  created: string;
  data: { object: T };
}

export interface EventListParams extends ListParams {
  type?: string;
  object_id?: string;
  created?: CreatedFilter;
}

export interface Address {
  line1?: string;
  line2?: string;
  city?: string;
  postal_code?: string;
  state?: string;
  country?: string;
}

export interface Customer {
  id: string;
  object: 'customer';
  name: string | null;
  email: string | null;
  phone: string | null;
  address: Address | null;
  metadata: Metadata;
  livemode: boolean;
  created_at: string;
}

export interface CustomerParams {
  name?: string;
  email?: string;
  phone?: string;
  address?: Address;
  metadata?: Metadata;
}

export interface Product {
  id: string;
  object: 'product';
  name: string;
  description: string | null;
  images: string[];
  active: boolean;
  metadata: Metadata;
  livemode: boolean;
  created_at: string;
}

export interface ProductParams {
  name?: string;
  description?: string;
  images?: string[];
  active?: boolean;
  metadata?: Metadata;
}

export interface Price {
  id: string;
  object: 'price';
  product: string;
  type: 'one_time' | 'recurring';
  unit_amount: number;
  currency: string;
  recurring: { interval: string; interval_count?: number } | null;
  nickname: string | null;
  active: boolean;
  metadata: Metadata;
  livemode: boolean;
  created_at: string;
}

export interface PriceParams {
  product?: string;
  currency?: string;
  unit_amount?: number;
  recurring?: { interval: string; interval_count?: number };
  nickname?: string;
  active?: boolean;
  metadata?: Metadata;
}

export interface PriceListParams extends ListParams {
  product?: string;
  active?: boolean;
  type?: string;
}

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
  /** The applied discount (at most one). */
  discounts: { coupon: string; promotion_code: string | null }[];
  allow_promotion_codes: boolean;
  route: string | null;
  /** null unless asked for with `expand: ['custom_fields']`. */
  custom_fields: Record<string, unknown> | null;
  cascade_line_items: CascadeTier[];
  /** 0 for the session's own line items, n for the n-th of cascade_line_items. */
  cascade_tier: number;
  cascade_payment: string | null;
  mode: 'payment' | 'subscription';
  subscription: string | null;
  customer_creation: 'if_required' | 'always';
}

/** A fallback pricing tier of a session. */
export interface CascadeTier {
  line_items: LineItem[];
  processor_route_id: string | null;
  amount_subtotal: number;
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
  /** A coupon or a promotion code id (promo_…), at most one (Stripe's form of coupon_id / promotion_code). */
  discounts?: { coupon?: string; promotion_code?: string }[];
  /** The processor route (rt_…) of the session's payments. */
  route?: string;
  /** Values of the site's custom fields, key → value. */
  custom_fields?: Record<string, string>;
  /** Fields of the answer to expand: 'custom_fields'. */
  expand?: string[];
  /** Fallback pricing tiers, tried in order after a retryable decline. */
  cascade_line_items?: { line_items: LineItemParams[]; processor_route_id?: string }[];
  /** Inferred from recurring prices when left out. */
  mode?: 'payment' | 'subscription';
  customer_creation?: 'if_required' | 'always';
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
  /** The invoice (in_…) an off-session renewal payment pays. */
  invoice?: string | null;
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
  /** The test clock (clock_…) its subscriptions follow. */
  test_clock: string | null;
}

export interface CustomerParams {
  name?: string;
  email?: string;
  phone?: string;
  address?: Address;
  metadata?: Metadata;
  /** Puts a new customer's subscriptions on a test clock (test mode only). */
  test_clock?: string;
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

export interface Coupon {
  id: string;
  object: 'coupon';
  name: string | null;
  percent_off: number | null;
  amount_off: number | null;
  currency: string | null;
  duration: 'once' | 'repeating' | 'forever';
  duration_in_months: number | null;
  max_redemptions: number | null;
  redeem_by: string | null;
  applies_to: { products: string[] } | null;
  metadata: Metadata;
  valid: boolean;
  times_redeemed: number;
  /** Open sessions holding a redemption. */
  times_reserved: number;
  livemode: boolean;
  created_at: string;
  deleted?: boolean;
}

/** Give percent_off, or amount_off with currency. Update takes name and metadata. */
export interface CouponParams {
  id?: string;
  name?: string;
  percent_off?: number;
  amount_off?: number;
  currency?: string;
  duration?: 'once' | 'repeating' | 'forever';
  duration_in_months?: number;
  max_redemptions?: number;
  redeem_by?: string;
  applies_to?: { products: string[] };
  metadata?: Metadata;
}

export interface PromotionCodeRestrictions {
  first_time_transaction?: boolean;
  minimum_amount?: number | null;
  minimum_amount_currency?: string | null;
}

export interface PromotionCode {
  id: string;
  object: 'promotion_code';
  code: string;
  coupon: Coupon;
  active: boolean;
  max_redemptions: number | null;
  expires_at: string | null;
  restrictions: PromotionCodeRestrictions | null;
  customer: string | null;
  times_redeemed: number;
  times_reserved: number;
  metadata: Metadata;
  livemode: boolean;
  created_at: string;
}

/** Update takes active and metadata. */
export interface PromotionCodeParams {
  coupon?: string;
  code?: string;
  active?: boolean;
  max_redemptions?: number;
  expires_at?: string;
  restrictions?: PromotionCodeRestrictions;
  customer?: string;
  metadata?: Metadata;
}

export interface PromotionCodeListParams extends ListParams {
  code?: string;
  coupon?: string;
  active?: boolean;
}

export interface Subscription {
  id: string;
  object: 'subscription';
  customer: string;
  status: 'trialing' | 'active' | 'past_due' | 'unpaid' | 'canceled' | 'incomplete' | 'incomplete_expired';
  items: { price: string; product: string; name: string; unit_amount: number; quantity: number }[];
  currency: string;
  recurring: { interval: string; interval_count?: number } | null;
  current_period_start: string;
  current_period_end: string;
  cancel_at_period_end: boolean;
  canceled_at: string | null;
  discount: { coupon: string; duration: string; end: string | null } | null;
  checkout_session: string;
  latest_invoice: string | null;
  metadata: Metadata;
  livemode: boolean;
  created_at: string;
  test_clock: string | null;
}

export interface SubscriptionUpdateParams {
  /** End at current_period_end (true) or keep renewing (false). */
  cancel_at_period_end?: boolean;
  /** Merged into the stored metadata; '' removes a key. */
  metadata?: Metadata;
}

export interface SubscriptionListParams extends ListParams {
  customer?: string;
  status?: string;
}

/** amount_total = amount_subtotal − amount_discount + amount_tax. */
export interface Invoice {
  id: string;
  object: 'invoice';
  subscription: string;
  customer: string;
  status: 'paid' | 'open' | 'uncollectible';
  currency: string;
  lines: { price: string | null; name: string; unit_amount: number; quantity: number; amount_subtotal: number; amount_discount: number }[];
  amount_subtotal: number;
  amount_discount: number;
  amount_tax: number;
  amount_total: number;
  discount_coupon: string | null;
  period_start: string;
  period_end: string;
  payment: string | null;
  attempt_count: number;
  next_payment_attempt: string | null;
  billing_reason: 'subscription_create' | 'subscription_cycle';
  paid_at: string | null;
  livemode: boolean;
  created_at: string;
}

export interface InvoiceListParams extends ListParams {
  subscription?: string;
  customer?: string;
  status?: string;
}

export interface TestClock {
  id: string;
  object: 'test_clock';
  frozen_time: string;
  name: string | null;
  status: string;
  livemode: boolean;
  created_at: string;
}

// @tillpoint/node: Tillpoint's merchant API from Node.js 20+, with fetch and
// no runtime dependencies. Written by hand, thin over the API's OpenAPI 3.1
// description (GET /v1/openapi.json).
//
//   import Tillpoint from '@tillpoint/node';
//   const tillpoint = new Tillpoint('sk_test_…', { baseURL: 'http://api.localhost:27801' });
//   const cs = await tillpoint.checkout.sessions.create({ amount: 5000, currency: 'EUR' }, { idempotencyKey: 'order-1234' });
import type * as T from './types.js';
import { constructEvent, verify } from './webhooks.js';

export * from './types.js';
export { WebhookVerificationError, TOLERANCE_SECONDS } from './webhooks.js';

export const VERSION = '0.1.0';

export interface ClientOptions {
  /** The API's address; default https://api.tillpoint.com. */
  baseURL?: string;
  /** A fetch implementation; default the global fetch. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** A retry with the same key and parameters gets the first answer again (kept 24 hours). */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** An API error answer: the API's one error shape plus the HTTP status. */
export class TillpointError extends Error {
  readonly statusCode: number;
  readonly type: string;
  readonly code?: string;
  readonly param?: string;
  readonly retryAfter?: string;
  constructor(statusCode: number, e: { type?: string; code?: string; param?: string; message?: string }, retryAfter?: string) {
    super(e.message || `HTTP ${statusCode}`);
    this.name = 'TillpointError';
    this.statusCode = statusCode;
    this.type = e.type || 'api_error';
    this.code = e.code || undefined;
    this.param = e.param || undefined;
    this.retryAfter = retryAfter;
  }
}

type Query = Record<string, unknown> | undefined;

function queryString(q: Query): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    if (typeof v === 'object') {
      for (const [op, b] of Object.entries(v as Record<string, unknown>)) {
        if (b !== undefined) p.set(`${k}[${op}]`, String(b));
      }
    } else {
      p.set(k, String(v));
    }
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

class Transport {
  constructor(
    private readonly key: string,
    private readonly baseURL: string,
    private readonly fetchImpl: typeof fetch,
  ) {}

  async request<R>(method: string, path: string, opts: { query?: Query; body?: unknown } & RequestOptions = {}): Promise<R> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.key}`,
      Accept: 'application/json',
      'User-Agent': `tillpoint-node/${VERSION}`,
    };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.idempotencyKey) headers['Idempotency-Key'] = opts.idempotencyKey;
    const res = await this.fetchImpl(this.baseURL + path + queryString(opts.query), {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
    });
    const text = await res.text();
    let json: any;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      throw new TillpointError(res.status, json?.error ?? { message: res.statusText }, res.headers.get('retry-after') ?? undefined);
    }
    if (json === undefined) throw new TillpointError(res.status, { message: `${method} ${path}: the answer is not JSON` });
    return json as R;
  }

  /** Every object of a list from params' position on, fetching pages while has_more. */
  async *all<O extends { id: string }>(path: string, params: T.ListParams & Record<string, unknown> = {}, opts?: RequestOptions): AsyncGenerator<O> {
    const q: Record<string, unknown> = { ...params };
    const backwards = Boolean(q.ending_before);
    for (;;) {
      const page = await this.request<T.List<O>>('GET', path, { query: q, ...opts });
      yield* page.data;
      if (!page.has_more || page.data.length === 0) return;
      if (backwards) q.ending_before = page.data[0].id;
      else q.starting_after = page.data[page.data.length - 1].id;
    }
  }
}

/** The list, get and all methods shared by every resource. */
class Resource<O extends { id: string }, L extends T.ListParams> {
  constructor(
    protected readonly t: Transport,
    protected readonly path: string,
  ) {}
  retrieve(id: string, opts?: RequestOptions): Promise<O> {
    return this.t.request('GET', `${this.path}/${enc(id)}`, opts);
  }
  /** One page, newest first. */
  list(params?: L, opts?: RequestOptions): Promise<T.List<O>> {
    return this.t.request('GET', this.path, { query: params as Query, ...opts });
  }
  /** Every object that matches params, fetching pages as needed: `for await (const o of r.all())`. */
  all(params?: L, opts?: RequestOptions): AsyncGenerator<O> {
    return this.t.all<O>(this.path, (params ?? {}) as T.ListParams & Record<string, unknown>, opts);
  }
  protected post<R>(path: string, body: unknown, opts?: RequestOptions): Promise<R> {
    return this.t.request('POST', path, { body: body ?? {}, ...opts });
  }
}

export class CheckoutSessions extends Resource<T.CheckoutSession, T.CheckoutSessionListParams> {
  /** `expand: ['custom_fields']` adds the session's custom field values. */
  retrieve(id: string, opts?: RequestOptions & { expand?: string[] }): Promise<T.CheckoutSession> {
    const q = opts?.expand?.length ? `?${opts.expand.map((f) => `expand=${enc(f)}`).join('&')}` : '';
    return this.t.request('GET', `${this.path}/${enc(id)}${q}`, { signal: opts?.signal });
  }
  create(params: T.CheckoutSessionCreateParams, opts?: RequestOptions): Promise<T.CheckoutSession> {
    return this.post(this.path, params, opts);
  }
  /** Expires an open session so that it can no longer be paid. */
  expire(id: string, opts?: RequestOptions): Promise<T.CheckoutSession> {
    return this.post(`${this.path}/${enc(id)}/expire`, {}, opts);
  }
}

export class Payments extends Resource<T.Payment, T.PaymentListParams> {
  /** Records bank-transfer funds seen on your statement; no amount confirms all that is due. */
  confirm(id: string, params: { amount?: number } = {}, opts?: RequestOptions): Promise<T.Payment> {
    return this.post(`${this.path}/${enc(id)}/confirm`, params, opts);
  }
}

export class Refunds extends Resource<T.Refund, T.RefundListParams> {
  create(params: T.RefundCreateParams, opts?: RequestOptions): Promise<T.Refund> {
    return this.post(this.path, params, opts);
  }
}

export class WebhookEndpoints extends Resource<T.WebhookEndpoint, T.ListParams> {
  /** The answer carries the signing secret, shown only here. */
  create(params: T.WebhookEndpointCreateParams, opts?: RequestOptions): Promise<T.WebhookEndpoint> {
    return this.post(this.path, params, opts);
  }
  update(id: string, params: T.WebhookEndpointUpdateParams, opts?: RequestOptions): Promise<T.WebhookEndpoint> {
    return this.post(`${this.path}/${enc(id)}`, params, opts);
  }
  del(id: string, opts?: RequestOptions): Promise<T.Deleted> {
    return this.t.request('DELETE', `${this.path}/${enc(id)}`, opts);
  }
  /** A new secret (in the answer); the old one keeps signing for 24 hours. */
  rotateSecret(id: string, opts?: RequestOptions): Promise<T.WebhookEndpoint> {
    return this.post(`${this.path}/${enc(id)}/rotate_secret`, {}, opts);
  }
}

export class Events extends Resource<T.Event, T.EventListParams> {}

class Updatable<O extends { id: string }, P, L extends T.ListParams> extends Resource<O, L> {
  create(params: P, opts?: RequestOptions): Promise<O> {
    return this.post(this.path, params, opts);
  }
  /** Changes only the fields given. */
  update(id: string, params: P, opts?: RequestOptions): Promise<O> {
    return this.post(`${this.path}/${enc(id)}`, params, opts);
  }
}

export class Customers extends Updatable<T.Customer, T.CustomerParams, T.ListParams> {
  del(id: string, opts?: RequestOptions): Promise<T.Deleted> {
    return this.t.request('DELETE', `${this.path}/${enc(id)}`, opts);
  }
}
export class Coupons extends Updatable<T.Coupon, T.CouponParams, T.ListParams> {
  /** Ends a coupon: no new session takes it; those that have it keep it. */
  del(id: string, opts?: RequestOptions): Promise<T.Coupon> {
    return this.t.request('DELETE', `${this.path}/${enc(id)}`, opts);
  }
}
export class PromotionCodes extends Updatable<T.PromotionCode, T.PromotionCodeParams, T.PromotionCodeListParams> {}

/** Subscriptions are made by paying a checkout session with a recurring price. */
export class Subscriptions extends Resource<T.Subscription, T.SubscriptionListParams> {
  update(id: string, params: T.SubscriptionUpdateParams, opts?: RequestOptions): Promise<T.Subscription> {
    return this.post(`${this.path}/${enc(id)}`, params, opts);
  }
  /** Cancels now: no more invoices. */
  cancel(id: string, opts?: RequestOptions): Promise<T.Subscription> {
    return this.t.request('DELETE', `${this.path}/${enc(id)}`, opts);
  }
}
export class Invoices extends Resource<T.Invoice, T.InvoiceListParams> {}

/** Test mode's clocks: customers' subscriptions follow one; advancing it runs the renewals and retries due. */
export class TestClocks {
  constructor(
    private readonly t: Transport,
    private readonly path: string,
  ) {}
  create(params: { frozen_time: string; name?: string }, opts?: RequestOptions): Promise<T.TestClock> {
    return this.t.request('POST', this.path, { body: params, ...opts });
  }
  retrieve(id: string, opts?: RequestOptions): Promise<T.TestClock> {
    return this.t.request('GET', `${this.path}/${enc(id)}`, opts);
  }
  /** Resolves when the renewals and retries that fell due have run. */
  advance(id: string, params: { frozen_time: string }, opts?: RequestOptions): Promise<T.TestClock> {
    return this.t.request('POST', `${this.path}/${enc(id)}/advance`, { body: params, ...opts });
  }
}

export class Products extends Updatable<T.Product, T.ProductParams, T.ListParams & { active?: boolean }> {}
export class Prices extends Updatable<T.Price, T.PriceParams, T.PriceListParams> {}

export class Tillpoint {
  readonly checkout: { sessions: CheckoutSessions };
  readonly payments: Payments;
  readonly refunds: Refunds;
  readonly webhookEndpoints: WebhookEndpoints;
  readonly events: Events;
  readonly customers: Customers;
  readonly products: Products;
  readonly prices: Prices;
  readonly coupons: Coupons;
  readonly promotionCodes: PromotionCodes;
  readonly subscriptions: Subscriptions;
  readonly invoices: Invoices;
  readonly testHelpers: { testClocks: TestClocks };
  /** Standard Webhooks verification of deliveries; needs no API key. */
  static readonly webhooks = { constructEvent, verify };
  readonly webhooks = Tillpoint.webhooks;

  constructor(secretKey: string, options: ClientOptions = {}) {
    const t = new Transport(secretKey, (options.baseURL ?? 'https://api.tillpoint.com').replace(/\/+$/, ''), options.fetch ?? globalThis.fetch);
    this.checkout = { sessions: new CheckoutSessions(t, '/v1/checkout/sessions') };
    this.payments = new Payments(t, '/v1/payments');
    this.refunds = new Refunds(t, '/v1/refunds');
    this.webhookEndpoints = new WebhookEndpoints(t, '/v1/webhook_endpoints');
    this.events = new Events(t, '/v1/events');
    this.customers = new Customers(t, '/v1/customers');
    this.products = new Products(t, '/v1/products');
    this.prices = new Prices(t, '/v1/prices');
    this.coupons = new Coupons(t, '/v1/coupons');
    this.promotionCodes = new PromotionCodes(t, '/v1/promotion_codes');
    this.subscriptions = new Subscriptions(t, '/v1/subscriptions');
    this.invoices = new Invoices(t, '/v1/invoices');
    this.testHelpers = { testClocks: new TestClocks(t, '/v1/test_helpers/test_clocks') };
  }
}

export { constructEvent, verify };
export default Tillpoint;

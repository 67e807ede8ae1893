// @tillpoint/node (sdk/ts, compiled by `make node-deps`) against the stack.
// e2e/sdk_ts_test.go runs this with node's test runner, passing:
//   TILLPOINT_ADMIN_API_URL  the admin-api's base URL (http://api.localhost:PORT)
//   TILLPOINT_SECRET_KEY     a test-mode secret key
//   TILLPOINT_TEST_CARD      the test card that succeeds
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import Tillpoint, { TillpointError, WebhookVerificationError } from '../../sdk/ts/dist/index.js';

// *.localhost names do not resolve in Node: dial them on 127.0.0.1, keeping
// the name in the Host header (the services route by it).
function send(url, { method = 'GET', headers = {}, body } = {}) {
  const u = new URL(url);
  const host = u.hostname.endsWith('.localhost') ? '127.0.0.1' : u.hostname;
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: u.port, path: u.pathname + u.search, method, headers: { ...headers, Host: u.host } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// The SDK takes any fetch; fetch cannot set Host, so the test gives it one over send.
async function localFetch(url, init = {}) {
  const res = await send(url, init);
  const headers = new Headers();
  for (const [k, v] of Object.entries(res.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : String(v));
  return new Response(res.body, { status: res.status, headers });
}

const tillpoint = new Tillpoint(process.env.TILLPOINT_SECRET_KEY, { baseURL: process.env.TILLPOINT_ADMIN_API_URL, fetch: localFetch });
const email = `sdk-ts-${process.hrtime.bigint()}@example.com`;

// payByCard pays a session's hosted page with the test card through the
// form contract, as a browser posting the form does.
async function payByCard(pageURL) {
  const page = await send(pageURL);
  const cookie = (page.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(csrf, 'the page has a form');
  const form = new URLSearchParams({
    csrf_token: csrf, method: 'card', name: 'Ada Lovelace', email: 'ada@example.com', country: 'FR', postal_code: '75001',
    action: 'pay', card_number: process.env.TILLPOINT_TEST_CARD, card_exp: '12/34', card_cvc: '123',
  });
  const res = await send(`${pageURL}/pay`, {
    method: 'POST', body: form.toString(),
    headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
  });
  assert.equal(JSON.parse(res.body).status, 'succeeded', res.body);
}

// A merchant's webhook endpoint on this machine, keeping what it receives.
async function receiver() {
  const got = [];
  const waiters = [];
  const srv = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.end();
      waiters.splice(0).forEach((w) => w());
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${srv.address().port}/hooks`,
    close: () => srv.close(),
    // next resolves with the first delivery that matches, waiting for deliveries.
    async next(match) {
      for (;;) {
        const d = got.find(match);
        if (d) return d;
        await new Promise((r) => waiters.push(r));
      }
    },
  };
}

function tea() {
  return {
    line_items: [{ name: 'Tea', unit_amount: 450, quantity: 3 }, { name: 'Cup', unit_amount: 1299, quantity: 1 }],
    currency: 'EUR',
    success_url: 'https://shop.example/success?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://shop.example/cart',
    customer_email: email,
    metadata: { sdk: 'ts' },
  };
}

test('Standard Webhooks test vector', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const headers = { 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' };
  const at = new Date(1614265330 * 1000);
  tillpoint.webhooks.verify('{"test": 2432232314}', headers, secret, at);
  assert.throws(() => tillpoint.webhooks.verify('{"test": 2432232315}', headers, secret, at), WebhookVerificationError);
  assert.throws(() => tillpoint.webhooks.verify('{"test": 2432232314}', headers, secret, new Date(at.getTime() + 301_000)), /tolerance/);
  assert.throws(() => tillpoint.webhooks.verify('{"test": 2432232314}', { ...headers, 'webhook-signature': '' }, secret, at), /missing/);
});

test('sessions, pagination, errors, a refund after paying, a verified delivery', { timeout: 60_000 }, async () => {
  const hooks = await receiver();
  const ep = await tillpoint.webhookEndpoints.create({ url: hooks.url, enabled_events: ['checkout.session.completed'] });
  assert.match(ep.secret, /^whsec_/);
  try {
    const ids = [];
    for (let i = 0; i < 3; i++) {
      const key = `${email}-${i}`;
      const cs = await tillpoint.checkout.sessions.create(tea(), { idempotencyKey: key });
      const again = await tillpoint.checkout.sessions.create(tea(), { idempotencyKey: key });
      assert.equal(again.id, cs.id);
      ids.push(cs.id);
    }
    const cs = await tillpoint.checkout.sessions.retrieve(ids[0]);
    assert.equal(cs.status, 'open');
    assert.equal(cs.amount_total, 2649);
    assert.equal(cs.line_items.length, 2);
    assert.equal(cs.customer_email, email);
    assert.equal(cs.payment, null);

    const page = await tillpoint.checkout.sessions.list({ limit: 2, customer_email: email });
    assert.equal(page.data.length, 2);
    assert.equal(page.has_more, true);
    const listed = [];
    for await (const s of tillpoint.checkout.sessions.all({ limit: 2, customer_email: email })) listed.push(s.id);
    assert.deepEqual(listed, [...ids].reverse());

    const expired = await tillpoint.checkout.sessions.expire(ids[1]);
    assert.equal(expired.status, 'expired');
    await assert.rejects(tillpoint.checkout.sessions.expire(ids[1]), (e) =>
      e instanceof TillpointError && e.statusCode === 400 && e.type === 'invalid_request_error' && e.code === 'checkout_session_not_open');
    const bad = tea();
    bad.line_items[0].quantity = 10001;
    await assert.rejects(tillpoint.checkout.sessions.create(bad), (e) => e instanceof TillpointError && e.param === 'line_items[0][quantity]');
    await assert.rejects(tillpoint.payments.retrieve('pay_nope'), (e) => e.statusCode === 404 && e.code === 'resource_missing');

    await payByCard(cs.url);
    const paid = await tillpoint.checkout.sessions.retrieve(cs.id);
    assert.equal(paid.payment_status, 'paid');
    const refund = await tillpoint.refunds.create({ payment: paid.payment, amount: 1000, reason: 'requested_by_customer' }, { idempotencyKey: `ts-refund-${paid.payment}` });
    assert.equal(refund.status, 'succeeded');
    assert.equal(refund.amount, 1000);
    const pay = await tillpoint.payments.retrieve(paid.payment);
    assert.equal(pay.amount_refunded, 1000);
    assert.deepEqual(pay.refunds.map((r) => r.id), [refund.id]);
    const refunds = [];
    for await (const r of tillpoint.refunds.all({ payment: paid.payment })) refunds.push(r.id);
    assert.deepEqual(refunds, [refund.id]);

    const d = await hooks.next((d) => JSON.parse(d.body).data.object.id === cs.id);
    const ev = tillpoint.webhooks.constructEvent(d.body, d.headers, ep.secret);
    assert.equal(ev.type, 'checkout.session.completed');
    assert.equal(ev.data.object.payment_status, 'paid');
    assert.throws(() => tillpoint.webhooks.constructEvent(d.body + ' ', d.headers, ep.secret), WebhookVerificationError);
    assert.equal((await tillpoint.events.retrieve(ev.id)).type, ev.type);
  } finally {
    hooks.close();
    assert.equal((await tillpoint.webhookEndpoints.del(ep.id)).deleted, true);
  }
});

test('catalog, discounts, cascade tiers, custom fields, a subscription on a test clock and its invoices', { timeout: 60_000 }, async () => {
  const run = String(process.hrtime.bigint());
  const prod = await tillpoint.products.create({ name: `TS tea ${run}` });
  const tea = await tillpoint.prices.create({ product: prod.id, currency: 'EUR', unit_amount: 450 });
  const monthly = await tillpoint.prices.create({ product: prod.id, currency: 'EUR', unit_amount: 900, recurring: { interval: 'month' } });
  const coupon = await tillpoint.coupons.create({ name: 'Ten', percent_off: 10, duration: 'once', max_redemptions: 5 });
  assert.equal(coupon.valid, true);
  const code = `TS${run.slice(-8)}`;
  const promo = await tillpoint.promotionCodes.create({ coupon: coupon.id, code });
  assert.equal(promo.coupon.id, coupon.id);
  assert.deepEqual((await tillpoint.promotionCodes.list({ code })).data.map((p) => p.id), [promo.id]);

  const start = '2027-01-15T10:00:00Z';
  const clock = await tillpoint.testHelpers.testClocks.create({ frozen_time: start, name: `TS ${run}` });
  assert.equal(clock.frozen_time, start);
  const cus = await tillpoint.customers.create({ email: `sdk-ts-${run}@example.com`, test_clock: clock.id });
  assert.equal(cus.test_clock, clock.id);

  // 2 × 4.50 = 9.00, 10 % off = 0.90.
  const cs = await tillpoint.checkout.sessions.create({
    customer_id: cus.id, promotion_code: code, success_url: 'https://shop.example/ok',
    line_items: [{ price_id: tea.id, quantity: 2, adjustable_quantity: { enabled: true, maximum: 5 } }],
  });
  assert.equal(cs.mode, 'payment');
  assert.equal(cs.amount_subtotal, 900);
  assert.deepEqual(cs.total_details, { amount_discount: 90, amount_tax: 0 });
  assert.equal(cs.discounts[0].coupon, coupon.id);
  assert.equal(cs.line_items[0].price_id, tea.id);
  assert.equal(cs.customer, cus.id);
  assert.equal(cs.custom_fields, null);
  assert.notEqual((await tillpoint.checkout.sessions.retrieve(cs.id, { expand: ['custom_fields'] })).custom_fields, null);
  const stripeForm = await tillpoint.checkout.sessions.create({ discounts: [{ coupon: coupon.id }], line_items: [{ price_id: tea.id, quantity: 1 }], success_url: 'https://shop.example/ok' });
  assert.equal(stripeForm.total_details.amount_discount, 45);
  const tiered = await tillpoint.checkout.sessions.create({
    line_items: [{ price_id: tea.id, quantity: 4 }], cascade_line_items: [{ line_items: [{ price_id: tea.id, quantity: 2 }] }], success_url: 'https://shop.example/ok',
  });
  assert.equal(tiered.cascade_line_items[0].amount_subtotal, 900);
  assert.equal(tiered.cascade_tier, 0);
  await assert.rejects(
    tillpoint.checkout.sessions.create({ amount: 1000, currency: 'EUR', custom_fields: { no_such_field: 'x' }, success_url: 'https://shop.example/ok' }),
    (e) => e instanceof TillpointError && e.statusCode === 400 && e.param === 'custom_fields[no_such_field]');

  const subCs = await tillpoint.checkout.sessions.create({
    customer_id: cus.id, line_items: [{ price_id: monthly.id, quantity: 1 }], success_url: 'https://shop.example/ok', cancel_url: 'https://shop.example/cart',
  });
  assert.equal(subCs.mode, 'subscription');
  await payByCard(subCs.url);
  const paid = await tillpoint.checkout.sessions.retrieve(subCs.id);
  let sub = await tillpoint.subscriptions.retrieve(paid.subscription);
  assert.equal(sub.status, 'active');
  assert.equal(sub.customer, cus.id);
  assert.equal(sub.current_period_start, start);
  assert.equal((await tillpoint.testHelpers.testClocks.advance(clock.id, { frozen_time: sub.current_period_end })).frozen_time, sub.current_period_end);
  const invoices = [];
  for await (const inv of tillpoint.invoices.all({ subscription: sub.id, limit: 1 })) invoices.push(inv);
  assert.deepEqual(invoices.map((i) => [i.billing_reason, i.status, i.amount_total]), [['subscription_cycle', 'paid', 900], ['subscription_create', 'paid', 900]]);
  assert.equal((await tillpoint.payments.retrieve(invoices[0].payment)).invoice, invoices[0].id);
  assert.deepEqual((await tillpoint.subscriptions.list({ customer: cus.id, status: 'active' })).data.map((s) => s.id), [sub.id]);
  sub = await tillpoint.subscriptions.update(sub.id, { cancel_at_period_end: true });
  assert.equal(sub.cancel_at_period_end, true);
  sub = await tillpoint.subscriptions.cancel(sub.id);
  assert.equal(sub.status, 'canceled');
  await assert.rejects(tillpoint.subscriptions.cancel(sub.id), (e) => e.statusCode === 400 && e.code === 'subscription_canceled');
  assert.equal((await tillpoint.coupons.del(coupon.id)).valid, false);
});

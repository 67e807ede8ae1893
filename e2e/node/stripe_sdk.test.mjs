// Stripe's Node SDK, unmodified, against Tillpoint's admin-api: only the API
// host, port, protocol and key are changed. e2e/stripe_node_test.go runs this
// against the stack it started, passing:
//   TILLPOINT_ADMIN_API_URL  the admin-api's base URL (http://api.localhost:PORT)
//   TILLPOINT_SECRET_KEY     a test-mode secret key
//   TILLPOINT_STRIPE_EVENT   a JSON file {payload, header, secret, session} of
//                            a real Stripe-format webhook delivery
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';

const base = new URL(process.env.TILLPOINT_ADMIN_API_URL);
const key = process.env.TILLPOINT_SECRET_KEY;

// *.localhost names resolve to loopback in browsers and curl but not in
// Node's resolver: the agent dials them on 127.0.0.1 (the Host header keeps
// the name, which admin-api checks).
const agent = new http.Agent({
  lookup(hostname, opts, cb) {
    if (hostname.endsWith('.localhost')) {
      return opts.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4);
    }
    return dns.lookup(hostname, opts, cb);
  },
});

const stripe = new Stripe(key, {
  host: base.hostname,
  port: Number(base.port),
  protocol: base.protocol.replace(':', ''),
  httpAgent: agent,
  maxNetworkRetries: 0,
});

function teaSession(extra = {}) {
  return {
    mode: 'payment',
    line_items: [
      { price_data: { currency: 'eur', unit_amount: 450, product_data: { name: 'Tea' } }, quantity: 3 },
      { price_data: { currency: 'eur', unit_amount: 1299, product_data: { name: 'Cup', description: 'Blue' } }, quantity: 1 },
    ],
    success_url: 'https://shop.example/success?session_id={CHECKOUT_SESSION_ID}',
    cancel_url: 'https://shop.example/cart',
    customer_email: 'ada@example.com',
    client_reference_id: 'node_cart',
    metadata: { order: 'n-1' },
    payment_method_types: ['card'],
    locale: 'en',
    expires_at: Math.floor(Date.now() / 1000) + 3600,
    ...extra,
  };
}

test('create, retrieve, list with auto-pagination, expire', async () => {
  const start = Math.floor(Date.now() / 1000) - 1;
  const cs = await stripe.checkout.sessions.create(teaSession({ expand: ['line_items'] }));
  assert.match(cs.id, /^cs_/);
  assert.equal(cs.object, 'checkout.session');
  assert.equal(cs.amount_total, 2649);
  assert.equal(cs.currency, 'eur');
  assert.equal(cs.status, 'open');
  assert.equal(cs.payment_status, 'unpaid');
  assert.equal(cs.client_reference_id, 'node_cart');
  assert.equal(cs.metadata.order, 'n-1');
  assert.equal(cs.line_items.object, 'list');
  assert.deepEqual(cs.line_items.data.map((li) => [li.description, li.quantity, li.amount_total]), [['Tea', 3, 1350], ['Cup', 1, 1299]]);
  assert.ok(cs.url.endsWith('/checkout/' + cs.id));

  const got = await stripe.checkout.sessions.retrieve(cs.id);
  assert.equal(got.id, cs.id);
  assert.equal(got.amount_subtotal, 2649);
  assert.equal(got.line_items, undefined);

  const ids = new Set([cs.id]);
  for (let i = 0; i < 4; i++) ids.add((await stripe.checkout.sessions.create(teaSession())).id);
  const listed = await stripe.checkout.sessions.list({ limit: 2, created: { gte: start } }).autoPagingToArray({ limit: 100 });
  const listedIds = listed.map((s) => s.id);
  assert.equal(new Set(listedIds).size, listedIds.length, 'a session listed twice');
  for (const id of ids) assert.ok(listedIds.includes(id), `auto-pagination missed ${id}`);

  const items = await stripe.checkout.sessions.listLineItems(cs.id, { limit: 1 }).autoPagingToArray({ limit: 10 });
  assert.deepEqual(items.map((li) => li.price.unit_amount), [450, 1299]);

  const expired = await stripe.checkout.sessions.expire(cs.id);
  assert.equal(expired.status, 'expired');
  assert.equal(expired.url, null);
});

test('bad input is a StripeInvalidRequestError naming the parameter', async () => {
  await assert.rejects(stripe.checkout.sessions.create(teaSession({ mode: 'subscription' })), (err) => {
    assert.equal(err.type, 'StripeInvalidRequestError');
    assert.equal(err.statusCode, 400);
    assert.equal(err.param, 'mode');
    return true;
  });
  const bad = teaSession();
  bad.line_items[0].price_data.unit_amount = -1;
  await assert.rejects(stripe.checkout.sessions.create(bad), (err) => {
    assert.equal(err.param, 'line_items[0][price_data][unit_amount]');
    return true;
  });
  await assert.rejects(stripe.checkout.sessions.retrieve('cs_nope'), (err) => {
    assert.equal(err.statusCode, 404);
    assert.equal(err.code, 'resource_missing');
    return true;
  });
});

test('webhooks.constructEvent verifies a Stripe-format delivery', () => {
  const { payload, header, secret, session } = JSON.parse(readFileSync(process.env.TILLPOINT_STRIPE_EVENT, 'utf8'));
  const event = stripe.webhooks.constructEvent(payload, header, secret);
  assert.equal(event.object, 'event');
  assert.equal(event.type, 'checkout.session.completed');
  assert.equal(event.data.object.object, 'checkout.session');
  assert.equal(event.data.object.id, session);
  assert.equal(event.data.object.payment_status, 'paid');
  assert.match(event.data.object.payment_intent, /^pay_/);
  assert.throws(() => stripe.webhooks.constructEvent(payload, header, 'whsec_not_the_secret'), (err) => err.type === 'StripeSignatureVerificationError');
  assert.throws(() => stripe.webhooks.constructEvent(payload + ' ', header, secret));
});

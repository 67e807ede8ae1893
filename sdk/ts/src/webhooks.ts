// Standard Webhooks verification (https://www.standardwebhooks.com/):
// webhook-id, webhook-timestamp and webhook-signature, the latter one or
// more "v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">" entries
// separated by spaces (two during a secret rotation).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Event } from './types.js';

/** How far webhook-timestamp may be from the receiver's clock, in seconds. */
export const TOLERANCE_SECONDS = 5 * 60;
const MAX_SIGNATURES = 16;

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string {
  if (typeof (headers as Headers).get === 'function') {
    return (headers as Headers).get(name) ?? '';
  }
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return (Array.isArray(v) ? v[0] : v) ?? '';
  }
  return '';
}

function key(secret: string): Buffer {
  const enc = secret.startsWith('whsec_') ? secret.slice(6) : secret;
  if (!enc || !/^[A-Za-z0-9+/]+={0,2}$/.test(enc) || enc.length % 4 !== 0) {
    throw new WebhookVerificationError('the secret is not whsec_ followed by base64');
  }
  return Buffer.from(enc, 'base64');
}

/**
 * Throws a WebhookVerificationError unless the delivery is signed with
 * `secret` ("whsec_…") within the tolerance. Pass the raw body exactly as
 * received (a string or bytes), and the request's headers.
 */
export function verify(body: string | Uint8Array, headers: HeaderBag, secret: string, now: Date = new Date()): void {
  const hmacKey = key(secret);
  const id = header(headers, 'webhook-id');
  const tsText = header(headers, 'webhook-timestamp');
  const sigs = header(headers, 'webhook-signature');
  if (!id || !tsText || !sigs) {
    throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature header');
  }
  if (!/^\d{1,15}$/.test(tsText)) {
    throw new WebhookVerificationError('webhook-timestamp is not a Unix time in seconds');
  }
  const ts = Number(tsText);
  if (Math.abs(Math.floor(now.getTime() / 1000) - ts) > TOLERANCE_SECONDS) {
    throw new WebhookVerificationError('webhook-timestamp is outside the tolerance');
  }
  const want = createHmac('sha256', hmacKey).update(`${id}.${ts}.`).update(body).digest();
  for (const entry of sigs.split(' ').filter(Boolean).slice(0, MAX_SIGNATURES)) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const got = Buffer.from(entry.slice(comma + 1), 'base64');
    if (got.length === want.length && timingSafeEqual(got, want)) return;
  }
  throw new WebhookVerificationError('no matching signature');
}

/** Verifies a delivery (see verify) and parses its body as an event. */
export function constructEvent<T = unknown>(body: string | Uint8Array, headers: HeaderBag, secret: string): Event<T> {
  verify(body, headers, secret);
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  return JSON.parse(text) as Event<T>;
}

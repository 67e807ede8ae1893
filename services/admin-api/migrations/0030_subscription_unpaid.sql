-- What the end of dunning does (Stripe's "if all retries for a payment
-- fail" setting), per site: cancel the subscription (the default, as
-- before), mark it unpaid, or leave it past_due; and proration lines that
-- carry the subscription's coupon.
SET lock_timeout = '5s';

ALTER TABLE admin.sites
    ADD COLUMN subscription_dunning_end text NOT NULL DEFAULT 'cancel'
        CHECK (subscription_dunning_end IN ('cancel', 'unpaid', 'past_due'));

-- A discounted proration credit gives back part of the discount (a
-- negative line discount), so an invoice's discount, and with it its
-- subtotal, may be negative; what is charged before tax never is.
ALTER TABLE admin.invoices
    DROP CONSTRAINT invoices_amount_subtotal_check,
    DROP CONSTRAINT invoices_amount_discount_check,
    ADD CONSTRAINT invoices_net_check CHECK (amount_subtotal - amount_discount >= 0);

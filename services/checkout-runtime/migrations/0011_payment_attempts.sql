-- Every provider attempt of a payment (issue 16): more than one when a
-- route cascaded after a retryable failure (docs/routing.md). The payment
-- row keeps the provider and account of its last attempt.
SET lock_timeout = '5s';

CREATE TABLE runtime.payment_attempts (
    payment_id       text NOT NULL REFERENCES runtime.payments (id),
    sequence         integer NOT NULL CHECK (sequence > 0),
    provider         text NOT NULL,
    provider_account text,
    route_id         text,
    outcome          text NOT NULL
        CHECK (outcome IN ('authorized', 'declined', 'challenge_required', 'pending', 'error')),
    decline_code     text,
    retryable        boolean NOT NULL,
    provider_ref     text,
    latency_ms       bigint NOT NULL CHECK (latency_ms >= 0),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (payment_id, sequence)
);

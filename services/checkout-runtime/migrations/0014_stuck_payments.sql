-- Card payments left processing by a crash are found by the payment
-- reconciler (payment.PaymentReconciler) by how long they have been
-- untouched; the index keeps its pass off the whole table.
SET lock_timeout = '5s';

CREATE INDEX payments_processing_card_idx ON runtime.payments (updated_at)
    WHERE status = 'processing' AND method = 'card';

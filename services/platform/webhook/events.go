package webhook

// EventTypes are the events a webhook endpoint can ask for (docs/design.md §3):
// hooks validates endpoints against them, and the Admin Panel offers them
// as checkboxes.
var EventTypes = []string{
	"checkout.session.completed", "checkout.session.expired",
	"checkout.session.async_payment_succeeded", "checkout.session.async_payment_failed",
	"payment.succeeded", "payment.failed", "payment.refunded", "payment.disputed", "payment.overpaid",
	"refund.succeeded", "refund.failed",
	"customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
	"invoice.paid", "invoice.payment_failed", "invoice.created", "invoice.voided",
}

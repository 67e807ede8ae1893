// Package paystack is the adapter of a merchant's Paystack account: mobile
// money in Ghana (GHS: MTN, Telecel/Vodafone, AirtelTigo) and Kenya (KES:
// M-Pesa) through Paystack's Charge API.
//
// Authorize sends POST /charge with the payer's wallet and our payment id as
// Paystack's reference, so a repeated call never makes a second charge (the
// reference is unique at Paystack). Paystack answers with a status the
// adapter maps onto the provider package's outcomes:
//
//	send_otp     → ChallengeRequired, NextActionOTP: the page asks for the code,
//	               then SubmitOTP (POST /charge/submit_otp) answers the same way
//	pay_offline  → ChallengeRequired, NextActionApproveOnPhone: the payer
//	               approves the operator's prompt; the result comes by webhook
//	               (then Resume verifies it), the session staying open meanwhile
//	pending      → the same wait (also ongoing, processing, queued)
//	success      → Authorized with Captured (Paystack takes the money at once:
//	               a lost session is refunded, never voided)
//	failed       → Declined, Paystack's message mapped to our stable codes
//
// Webhooks (POST /hooks/paystack/{account} in hooks) are signed with the
// account's secret key: x-paystack-signature is the hex HMAC-SHA512 of the
// raw body (VerifySignature). Their body is never trusted alone: Verify
// (GET /transaction/verify/{reference}) is what settles a payment.
//
// FindAuthorization is the same verification by our payment id (the
// reference Authorize gave), for a payment whose charge answer was never
// recorded: success is the money taken (to refund), a failed or unknown
// reference holds nothing (ErrUnknownReference; Paystack answers an unknown
// reference 400 transaction_not_found, its specification says 404, both are
// read so), and a charge still waiting for the payer is ErrAwaitingPayer.
//
// The tests run against Stoplight Prism serving Paystack's own OpenAPI
// specification (testdata/paystack.yaml), so every request is checked
// against Paystack's contract.
package paystack

package provider

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// Callback event types.
const (
	// CallbackPaymentSucceeded (test): an asynchronous payment succeeded.
	CallbackPaymentSucceeded = "payment.succeeded"
	// CallbackPaymentFailed (test): an asynchronous payment failed.
	CallbackPaymentFailed = "payment.failed"
	// CallbackFundsReceived (bank_transfer): the bank feed saw a credit
	// carrying a session reference.
	CallbackFundsReceived = "funds.received"
)

// Limits of callback fields.
const (
	// MaxCallbackBody is the largest callback body ParseCallback reads. Real
	// callbacks are a few hundred bytes; the cap keeps a hostile sender from
	// making us buffer more (hooks should cap the request body the same).
	MaxCallbackBody = 64 << 10
	// maxIDLen: provider event ids, payment ids and references are database
	// keys; 255 is the usual VARCHAR bound and longer than any provider's ids.
	maxIDLen = 255
	// maxFailureCodeLen: failure codes are short snake_case words.
	maxFailureCodeLen = 64
	// callbackIDPrefix starts the ids of callbacks we build ourselves.
	callbackIDPrefix = "pevt"
)

// Callback is the JSON body of a provider callback (POST /hooks/{provider}).
type Callback struct {
	ID          string `json:"id"`                     // the provider's event id, for deduplication
	Type        string `json:"type"`                   // one of the Callback… types
	PaymentID   string `json:"payment_id,omitempty"`   // test: our payment id
	Reference   string `json:"reference,omitempty"`    // bank_transfer: the bank reference; test: the provider reference
	Amount      int64  `json:"amount,omitempty"`       // minor units
	Currency    string `json:"currency,omitempty"`     // ISO 4217, upper-case after ParseCallback
	FailureCode string `json:"failure_code,omitempty"` // payment.failed only
}

// Errors of ParseCallback.
var (
	// ErrUnknownProvider: no provider of this name takes callbacks.
	ErrUnknownProvider = errors.New("provider: unknown provider")
	// ErrInvalidCallback: the body is not a valid callback for the provider;
	// the wrapped text names the field.
	ErrInvalidCallback = errors.New("provider: invalid callback")
)

// ParseCallback decodes and validates a callback body for the named provider
// ("test" or "bank_transfer"). Verify the signature first: this checks shape,
// not origin. Unknown fields, trailing data and wrong types are rejected.
//
// test: type payment.succeeded or payment.failed, payment_id required;
// reference, amount and currency optional; failure_code only on
// payment.failed. bank_transfer: type funds.received, reference, amount > 0
// and currency required; payment_id and failure_code not allowed.
func ParseCallback(provider string, body []byte) (Callback, error) {
	if provider != NameTest && provider != NameBankTransfer {
		return Callback{}, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
	}
	if len(body) > MaxCallbackBody {
		return Callback{}, invalidCallback("body", "longer than %d bytes", MaxCallbackBody)
	}
	if err := checkCallbackKeys(body); err != nil {
		return Callback{}, err
	}
	var c Callback
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Callback{}, fmt.Errorf("%w: body: %v", ErrInvalidCallback, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Callback{}, invalidCallback("body", "data after the JSON object")
	}
	if err := c.validate(provider); err != nil {
		return Callback{}, err
	}
	c.Currency = upperCurrency(c.Currency)
	return c, nil
}

// callbackKeys are the JSON keys of Callback, spelled exactly.
var callbackKeys = map[string]bool{
	"id": true, "type": true, "payment_id": true, "reference": true,
	"amount": true, "currency": true, "failure_code": true,
}

// checkCallbackKeys makes the body one flat JSON object whose keys are
// Callback's, spelled exactly and each at most once. encoding/json alone
// would match keys case-insensitively and let a repeated key win silently,
// so two readers of one signed body could disagree about it.
func checkCallbackKeys(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return invalidCallback("body", "must be a JSON object")
	}
	seen := make(map[string]bool, len(callbackKeys))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: body: %v", ErrInvalidCallback, err)
		}
		key, _ := tok.(string)
		switch {
		case !callbackKeys[key]:
			return invalidCallback("body", "unknown field %q", truncate(key, 40))
		case seen[key]:
			return invalidCallback(key, "appears more than once")
		}
		seen[key] = true
		val, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidCallback, key, err)
		}
		if _, nested := val.(json.Delim); nested {
			return invalidCallback(key, "must be a string or a number")
		}
	}
	return nil
}

// truncate shortens s to at most n bytes for an error message.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// validate applies the per-provider rules of ParseCallback.
func (c Callback) validate(provider string) error {
	if err := checkID("id", c.ID, true); err != nil {
		return err
	}
	if err := checkID("payment_id", c.PaymentID, false); err != nil {
		return err
	}
	if err := checkID("reference", c.Reference, false); err != nil {
		return err
	}
	if c.Amount < 0 {
		return invalidCallback("amount", "must be positive")
	}
	if c.Amount > money.MaxAmount {
		// No real credit for one payment is larger, and sums of amounts stay
		// far from int64's range.
		return invalidCallback("amount", "must be at most %d minor units", int64(money.MaxAmount))
	}
	if c.Currency != "" && !validCurrency(c.Currency) {
		return invalidCallback("currency", "is not a three-letter ISO 4217 code")
	}
	if c.Amount != 0 && c.Currency == "" {
		return invalidCallback("currency", "is required with amount")
	}
	if c.Amount == 0 && c.Currency != "" {
		return invalidCallback("amount", "is required with currency")
	}
	switch provider {
	case NameTest:
		switch c.Type {
		case CallbackPaymentSucceeded:
			if c.FailureCode != "" {
				return invalidCallback("failure_code", "only allowed on %s", CallbackPaymentFailed)
			}
		case CallbackPaymentFailed:
			if c.FailureCode != "" && !isCode(c.FailureCode) {
				return invalidCallback("failure_code", "must be lower-case snake_case of at most %d characters", maxFailureCodeLen)
			}
		default:
			return invalidCallback("type", "must be %s or %s for the test provider", CallbackPaymentSucceeded, CallbackPaymentFailed)
		}
		if c.PaymentID == "" {
			return invalidCallback("payment_id", "is required")
		}
	case NameBankTransfer:
		switch {
		case c.Type != CallbackFundsReceived:
			return invalidCallback("type", "must be %s for bank_transfer", CallbackFundsReceived)
		case c.Reference == "":
			return invalidCallback("reference", "is required")
		case c.Amount <= 0:
			return invalidCallback("amount", "is required and must be positive")
		case c.PaymentID != "":
			return invalidCallback("payment_id", "not allowed for bank_transfer: funds are matched by reference")
		case c.FailureCode != "":
			return invalidCallback("failure_code", "not allowed for bank_transfer")
		}
	}
	return nil
}

// checkID checks an identifier: at most maxIDLen printable ASCII characters
// without spaces (ids reach logs and database keys).
func checkID(field, v string, required bool) error {
	if v == "" {
		if required {
			return invalidCallback(field, "is required")
		}
		return nil
	}
	if len(v) > maxIDLen {
		return invalidCallback(field, "longer than %d characters", maxIDLen)
	}
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] > '~' {
			return invalidCallback(field, "must be printable ASCII without spaces")
		}
	}
	return nil
}

// isCode reports whether s is a short lower-case snake_case code.
func isCode(s string) bool {
	if len(s) > maxFailureCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// invalidCallback wraps ErrInvalidCallback with the field and the rule.
func invalidCallback(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalidCallback, field, fmt.Sprintf(format, args...))
}

// Callback modes: the mode of the secret that verified a callback, and so the
// only mode of payments it may settle.
const (
	ModeTest = "test"
	ModeLive = "live"
)

// ModeSecrets are one provider's callback secrets per mode (several per mode
// during a rotation). A provider without live payments (the test provider)
// has no Live secrets. A secret must never be in both lists: the secret that
// verifies a callback is what tells its mode, never the body, which a sender
// with the other mode's secret could write as it likes.
type ModeSecrets struct {
	Live, Test [][]byte
}

// Verify checks a SignatureHeader value against the live secrets, then the
// test ones, and returns the mode whose secret matched. The error is the
// test secrets' when there are any (the live ones' otherwise): for a log,
// never containing a secret.
func (m ModeSecrets) Verify(header string, body []byte, now time.Time) (mode string, err error) {
	if len(m.Live) > 0 {
		if err = VerifyAny(m.Live, header, body, now); err == nil {
			return ModeLive, nil
		}
	}
	if len(m.Test) > 0 {
		if err = VerifyAny(m.Test, header, body, now); err == nil {
			return ModeTest, nil
		}
	}
	if err == nil {
		err = ErrNoSecret
	}
	return "", err
}

// CallbackSource is where a verified callback comes from: the provider and
// the mode of the secret that verified it. hooks publishes each callback on
// the subject provider.<Key()>; checkout-runtime applies it only to a payment
// made by that provider in that mode.
type CallbackSource struct {
	Provider, Mode string
}

// Livemode reports whether the source is a live-mode one.
func (s CallbackSource) Livemode() bool { return s.Mode == ModeLive }

// Key is "<provider>.<mode>", the tail of the callback's NATS subject.
func (s CallbackSource) Key() string { return s.Provider + "." + s.Mode }

// ParseCallbackSource reads a Key back. A bare provider name is a callback
// published before modes existed: it was verified by the provider's one
// secret of then, which is now its live secret (bank_transfer: what was
// BANK_FEED_SECRET) or its test one (test), so it takes that mode.
func ParseCallbackSource(key string) (CallbackSource, error) {
	name, mode, ok := strings.Cut(key, ".")
	if !ok {
		switch name {
		case NameBankTransfer:
			return CallbackSource{Provider: name, Mode: ModeLive}, nil
		case NameTest:
			return CallbackSource{Provider: name, Mode: ModeTest}, nil
		}
	}
	if !ok || (mode != ModeTest && mode != ModeLive) || name == "" {
		return CallbackSource{}, fmt.Errorf("%w: source %q is not <provider>.<test|live>", ErrInvalidCallback, truncate(key, 60))
	}
	return CallbackSource{Provider: name, Mode: mode}, nil
}

// NewPaymentSucceeded builds the test provider's asynchronous success for a
// Pending authorisation (TestCardPending), with a fresh event id. The
// runtime signs its Encode()d body and sends it to /hooks/test.
func NewPaymentSucceeded(paymentID, reference string, amount int64, currency string) Callback {
	return Callback{
		ID: ids.New(callbackIDPrefix), Type: CallbackPaymentSucceeded,
		PaymentID: paymentID, Reference: reference, Amount: amount, Currency: upperCurrency(currency),
	}
}

// NewPaymentFailed builds the test provider's asynchronous failure.
func NewPaymentFailed(paymentID, reference, failureCode string) Callback {
	return Callback{
		ID: ids.New(callbackIDPrefix), Type: CallbackPaymentFailed,
		PaymentID: paymentID, Reference: reference, FailureCode: failureCode,
	}
}

// NewFundsReceived builds a bank feed's funds.received for the session
// reference the payer quoted.
func NewFundsReceived(bankReference string, amount int64, currency string) Callback {
	return Callback{
		ID: ids.New(callbackIDPrefix), Type: CallbackFundsReceived,
		Reference: bankReference, Amount: amount, Currency: upperCurrency(currency),
	}
}

// Encode returns the callback's JSON body.
func (c Callback) Encode() []byte {
	b, err := json.Marshal(c)
	if err != nil { // strings and an integer always marshal
		panic("provider: marshal callback: " + err.Error())
	}
	return b
}

// upperCurrency normalises a currency code as ParseCallback would.
func upperCurrency(code string) string {
	if cur, err := money.ParseCurrency(code); err == nil {
		return cur.Code()
	}
	return code
}

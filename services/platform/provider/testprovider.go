package provider

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// testReferencePrefix starts every reference the test provider issues.
const testReferencePrefix = "tst"

// testAuthorizationTTL is how long the test provider remembers a reference.
// Card networks let an uncaptured authorisation lapse after about seven days,
// so a test capture later than that should fail as a real one would.
const testAuthorizationTTL = 7 * 24 * time.Hour

// maxTestReferences bounds the test provider's memory in a long-running
// process (about 200 bytes each, so some 20 MB at most); the oldest are
// forgotten first.
const maxTestReferences = 100_000

// testState is where a test authorisation stands.
type testState int

const (
	stateDeclined testState = iota + 1
	stateChallenge
	statePending
	stateAuthorized
	stateCaptured
	stateVoided
)

// testAuth is what the test provider remembers of one reference: no card
// data beyond brand and last four digits.
type testAuth struct {
	state      testState
	amount     int64
	captured   int64
	brand      string
	last4      string
	challenged bool   // it went through a challenge
	result     Result // the challenge's result, replayed on a repeat
	created    time.Time
	// recalled: rebuilt from its reference (see recall), so its capture,
	// if any, happened in another process.
	recalled bool
	refunded int64            // total of its refunds
	refunds  map[string]int64 // refund id → amount, for repeats
	// paymentID is the payment it was issued for (FindAuthorization).
	paymentID string
}

// Test is the test-mode card provider. It accepts only the documented test
// cards (TestCards) and keeps the references it issued in memory, each of
// which also records what another process needs to carry it on.
type Test struct {
	now     func() time.Time
	maxRefs int // maxTestReferences; smaller in this package's tests

	mu    sync.Mutex
	auths map[string]*testAuth
	order []string // references in issue order, for expiry
	// byPayment is each payment's latest reference in auths.
	byPayment map[string]string
}

// TestOption configures NewTest.
type TestOption func(*Test)

// WithClock makes the test provider read the time from now (expiry checks
// and reference lapse), for tests.
func WithClock(now func() time.Time) TestOption {
	return func(t *Test) { t.now = now }
}

// NewTest returns the test-mode card provider.
func NewTest(opts ...TestOption) *Test {
	t := &Test{now: time.Now, maxRefs: maxTestReferences, auths: make(map[string]*testAuth), byPayment: make(map[string]string)}
	for _, o := range opts {
		o(t)
	}
	return t
}

// Name returns "test".
func (t *Test) Name() string { return NameTest }

// Authorize checks the card and answers as its test number says. Live-mode
// requests are declined before the card is looked at.
func (t *Test) Authorize(ctx context.Context, req AuthorizeRequest) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := checkRequest(req); err != nil {
		return Result{}, err
	}
	// Live mode is refused before the card is looked at (or required): live
	// card numbers must never reach our servers.
	if !req.Livemode && req.Card == nil {
		return Result{}, fmt.Errorf("%w: the test provider needs a card", ErrInvalidRequest)
	}
	res := t.evaluate(req)
	auth := &testAuth{amount: req.Amount, brand: res.Brand, last4: res.Last4, paymentID: req.PaymentID}
	switch res.Outcome {
	case Authorized:
		auth.state = stateAuthorized
	case ChallengeRequired:
		auth.state = stateChallenge
	case Pending:
		auth.state = statePending
	default:
		auth.state = stateDeclined
	}
	res.Reference = t.remember(auth)
	return res, nil
}

// evaluate decides the outcome of a request, without a reference.
func (t *Test) evaluate(req AuthorizeRequest) Result {
	if req.Livemode {
		return decline("", "", "", DeclineLiveModeNotSupported, DeclineMessage(DeclineLiveModeNotSupported))
	}
	c := req.Card
	digits, ok := normalizeNumber(c.Number)
	if !ok || !luhnValid(digits) {
		return decline("", "", "", DeclineInvalidNumber, DeclineMessage(DeclineInvalidNumber))
	}
	brand, last4 := brandOf(digits), digits[len(digits)-4:]
	card, known := lookupTestCard(digits)
	if !known {
		return decline("", brand, last4, DeclineTestCardUnknown, DeclineMessage(DeclineTestCardUnknown))
	}
	if code := checkExpiry(c.Exp, t.now()); code != "" {
		return decline("", brand, last4, code, DeclineMessage(code))
	}
	if !validCVC(c.CVC) {
		return decline("", brand, last4, DeclineInvalidCVC, DeclineMessage(DeclineInvalidCVC))
	}
	if card.Number == TestCardProcessingError && req.Attempt > 1 {
		return Result{Outcome: Authorized, Brand: brand, Last4: last4} // the cascade's next account
	}
	if card.Outcome == Declined {
		return decline("", brand, last4, card.DeclineCode, DeclineMessage(card.DeclineCode))
	}
	return Result{Outcome: card.Outcome, Brand: brand, Last4: last4}
}

// CompleteChallenge finishes the challenge of a TestCardChallenge
// authorisation. The first decision wins: a repeat returns the same result.
func (t *Test) CompleteChallenge(ctx context.Context, reference string, approve bool) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a, err := t.lookupLocked(reference)
	if err != nil {
		return Result{}, err
	}
	switch {
	case a.state == stateChallenge:
		if approve {
			a.state = stateAuthorized
			a.result = Result{Outcome: Authorized, Reference: reference, Brand: a.brand, Last4: a.last4}
		} else {
			a.state = stateDeclined
			a.result = decline(reference, a.brand, a.last4, DeclineAuthenticationFailed, DeclineMessage(DeclineAuthenticationFailed))
		}
		a.challenged = true
		return a.result, nil
	case a.challenged && (a.state == stateAuthorized || a.state == stateDeclined):
		return a.result, nil
	}
	return Result{}, fmt.Errorf("%w: %s", ErrNoChallenge, reference)
}

// Capture takes amount of an authorised (or pending) payment.
func (t *Test) Capture(ctx context.Context, reference string, amount int64) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if amount <= 0 {
		return fmt.Errorf("%w: capture amount must be positive, got %d", ErrInvalidRequest, amount)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a, err := t.lookupLocked(reference)
	if err != nil {
		return err
	}
	switch a.state {
	case stateAuthorized, statePending:
		if amount > a.amount {
			return fmt.Errorf("%w: %s: %d > %d", ErrCaptureAmount, reference, amount, a.amount)
		}
		a.state, a.captured = stateCaptured, amount
		return nil
	case stateCaptured:
		if amount == a.captured {
			return nil // a retried capture
		}
		return fmt.Errorf("%w: %s was captured for %d, not %d", ErrAlreadyCaptured, reference, a.captured, amount)
	case stateVoided:
		return fmt.Errorf("%w: %s", ErrAlreadyVoided, reference)
	}
	return fmt.Errorf("%w: %s is %s", ErrNotCapturable, reference, a.state)
}

// Void releases an authorised, pending or challenge-waiting authorisation.
func (t *Test) Void(ctx context.Context, reference string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a, err := t.lookupLocked(reference)
	if err != nil {
		return err
	}
	switch a.state {
	case stateAuthorized, statePending, stateChallenge:
		a.state = stateVoided
		return nil
	case stateVoided:
		return nil // a retried void
	case stateCaptured:
		return fmt.Errorf("%w: %s", ErrAlreadyCaptured, reference)
	}
	return fmt.Errorf("%w: %s is %s", ErrNotCapturable, reference, a.state)
}

// Refund gives back amount of a captured payment, at most what is left of
// the capture; a repeated refund id with the same amount answers as the
// first did. A reference recalled from another process (see recall) that
// stands authorised is taken as captured in full: the runtime captures the
// whole amount and asks for refunds only of payments it recorded captured,
// and its own tables bound their total.
func (t *Test) Refund(ctx context.Context, req RefundRequest) (RefundResult, error) {
	if err := ctx.Err(); err != nil {
		return RefundResult{}, err
	}
	if err := checkRefund(req); err != nil {
		return RefundResult{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a, err := t.lookupLocked(req.Reference)
	if err != nil {
		return RefundResult{}, err
	}
	if a.recalled && (a.state == stateAuthorized || a.state == statePending) {
		a.state, a.captured = stateCaptured, a.amount
	}
	if a.state != stateCaptured {
		return RefundResult{}, fmt.Errorf("%w: %s is %s", ErrNotRefundable, req.Reference, a.state)
	}
	ok := RefundResult{Status: RefundSucceeded, Reference: testReferencePrefix + "_refund_" + req.RefundID}
	if prev, seen := a.refunds[req.RefundID]; seen {
		if prev != req.Amount {
			return RefundResult{}, fmt.Errorf("%w: refund %s was for %d, not %d", ErrRefundAmount, req.RefundID, prev, req.Amount)
		}
		return ok, nil // a retried refund
	}
	if req.Amount > a.captured-a.refunded {
		return RefundResult{}, fmt.Errorf("%w: %s: %d > %d left", ErrRefundAmount, req.Reference, req.Amount, a.captured-a.refunded)
	}
	if a.refunds == nil {
		a.refunds = make(map[string]int64)
	}
	a.refunds[req.RefundID] = req.Amount
	a.refunded += req.Amount
	return ok, nil
}

// remember stores a new authorisation under a fresh reference. The
// reference also records the authorisation as issued (state, amount, brand,
// last four digits: nothing secret), so that another process, or this one
// after a restart, can carry it on: see recall.
func (t *Test) remember(a *testAuth) string {
	a.created = t.now()
	ref := fmt.Sprintf("%s_%d_%d_%d_%s_%s", ids.New(testReferencePrefix), a.state, a.amount, a.created.Unix(), a.brand, a.last4)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(a.created, 1)
	t.auths[ref] = a
	t.order = append(t.order, ref)
	if a.paymentID != "" {
		t.byPayment[a.paymentID] = ref
	}
	return ref
}

// FindAuthorization answers the latest authorisation this process issued
// for paymentID that holds or held money (authorised, pending, captured
// or voided since), as Authorize answered it. An in-process provider knows
// nothing of what a dead process issued, which held nothing either.
func (t *Test) FindAuthorization(ctx context.Context, paymentID string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(t.now(), 0)
	ref, ok := t.byPayment[paymentID]
	a := t.auths[ref]
	if !ok || a.state < statePending {
		return Result{}, fmt.Errorf("%w: no authorisation for payment %q", ErrUnknownReference, paymentID)
	}
	outcome := Authorized
	if a.state == statePending {
		outcome = Pending
	}
	return Result{Outcome: outcome, Reference: ref, Brand: a.brand, Last4: a.last4}, nil
}

// lookupLocked finds a live reference; t.mu must be held.
func (t *Test) lookupLocked(ref string) (*testAuth, error) {
	t.pruneLocked(t.now(), 0)
	a, ok := t.auths[ref]
	if !ok {
		if a, ok = recall(ref); !ok || !a.created.After(t.now().Add(-testAuthorizationTTL)) {
			return nil, fmt.Errorf("%w: %q", ErrUnknownReference, ref)
		}
		t.pruneLocked(t.now(), 1)
		t.auths[ref] = a
		t.order = append(t.order, ref)
	}
	return a, nil
}

// recall rebuilds an authorisation issued by another process (a replica, or
// this one before a restart) from its reference, as it stood when issued
// (an authorisation past its lapse stays unknown).
// What happened to it since (a capture, a void) is known to the payments
// table, which only asks for moves its state machine allows.
func recall(ref string) (*testAuth, bool) {
	parts := strings.Split(ref, "_")
	if len(parts) != 7 || parts[0] != testReferencePrefix || !ids.HasPrefix(parts[0]+"_"+parts[1], testReferencePrefix) {
		return nil, false
	}
	state, err1 := strconv.Atoi(parts[2])
	amount, err2 := strconv.ParseInt(parts[3], 10, 64)
	issued, err3 := strconv.ParseInt(parts[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || amount <= 0 || testState(state) < stateDeclined || testState(state) > stateAuthorized {
		return nil, false
	}
	return &testAuth{state: testState(state), amount: amount, created: time.Unix(issued, 0), brand: parts[5], last4: parts[6], recalled: true}, true
}

// pruneLocked forgets references past their lapse, and the oldest ones
// beyond the cap less room (1 before an insert); t.mu must be held.
func (t *Test) pruneLocked(now time.Time, room int) {
	cutoff := now.Add(-testAuthorizationTTL)
	n := 0
	for n < len(t.order) {
		a := t.auths[t.order[n]]
		if len(t.order)-n+room <= t.maxRefs && a.created.After(cutoff) {
			break
		}
		if t.byPayment[a.paymentID] == t.order[n] {
			delete(t.byPayment, a.paymentID)
		}
		delete(t.auths, t.order[n])
		n++
	}
	// The dropped prefix is freed when append next grows the slice, which
	// copies only the live tail.
	t.order = t.order[n:]
}

var testStateNames = [...]string{
	stateDeclined:   "declined",
	stateChallenge:  "awaiting its challenge",
	statePending:    "pending",
	stateAuthorized: "authorized",
	stateCaptured:   "captured",
	stateVoided:     "voided",
}

func (s testState) String() string {
	if s > 0 && int(s) < len(testStateNames) {
		return testStateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// testCardTokenPrefix starts the test provider's reusable card tokens.
const testCardTokenPrefix = "tok_test_"

// SaveCard returns a reusable token for an authorised test card, for
// off-session charges later (a subscription's renewals). The token names
// the documented test card (public test data, test mode only), so that it
// survives restarts without the provider remembering it; a live-mode
// request never gets one.
func (t *Test) SaveCard(_ context.Context, livemode bool, card *Card) (string, error) {
	if livemode || card == nil {
		return "", fmt.Errorf("%w: the test provider saves test-mode test cards only", ErrInvalidRequest)
	}
	digits, ok := normalizeNumber(card.Number)
	if !ok {
		return "", fmt.Errorf("%w: not a card number", ErrInvalidRequest)
	}
	if _, known := lookupTestCard(digits); !known {
		return "", fmt.Errorf("%w: not a documented test card", ErrInvalidRequest)
	}
	return testCardTokenPrefix + digits, nil
}

// SetupCard saves a card without charging it (a checkout that charges
// nothing: a subscription's free trial, as Stripe Checkout sets up a
// payment method for one): a test card whose authorisation is declined is
// declined here too, with its code; any other documented test card is
// saved as SaveCard does (Result.SavedToken). The Result carries the
// card's brand and last 4.
func (t *Test) SetupCard(ctx context.Context, req SetupRequest) (Result, error) {
	token, err := t.SaveCard(ctx, req.Livemode, req.Card)
	if err != nil {
		return Result{}, err
	}
	digits := strings.TrimPrefix(token, testCardTokenPrefix)
	c, _ := lookupTestCard(digits)
	brand, last4 := brandOf(digits), digits[len(digits)-4:]
	if c.Outcome == Declined {
		return decline("", brand, last4, c.DeclineCode, DeclineMessage(c.DeclineCode)), nil
	}
	return Result{Outcome: Authorized, Brand: brand, Last4: last4, SavedToken: token}, nil
}

// AuthorizeSaved authorises an off-session charge of a token from
// SaveCard, as the saved test card's off-session behaviour says; it is
// captured like any authorisation.
func (t *Test) AuthorizeSaved(ctx context.Context, req AuthorizeRequest, token string) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if err := checkRequest(req); err != nil {
		return Result{}, err
	}
	var res Result
	card, known := lookupTestCard(strings.TrimPrefix(token, testCardTokenPrefix))
	switch {
	case req.Livemode:
		res = decline("", "", "", DeclineLiveModeNotSupported, DeclineMessage(DeclineLiveModeNotSupported))
	case !strings.HasPrefix(token, testCardTokenPrefix) || !known:
		return Result{}, fmt.Errorf("%w: unknown saved card token", ErrInvalidRequest)
	case card.OffSessionDecline != "":
		res = decline("", brandOf(card.Number), card.Number[len(card.Number)-4:], card.OffSessionDecline, DeclineMessage(card.OffSessionDecline))
	default:
		res = Result{Outcome: Authorized, Brand: brandOf(card.Number), Last4: card.Number[len(card.Number)-4:]}
	}
	auth := &testAuth{amount: req.Amount, brand: res.Brand, last4: res.Last4, state: stateDeclined, paymentID: req.PaymentID}
	if res.Outcome == Authorized {
		auth.state = stateAuthorized
	}
	res.Reference = t.remember(auth)
	return res, nil
}

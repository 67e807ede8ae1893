package provider

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var testNow = time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)

func newTestProvider(t *testing.T) (*Test, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: testNow}
	return NewTest(WithClock(clock.Now)), clock
}

// cardReq is a valid test-mode request for number.
func cardReq(number string) AuthorizeRequest {
	return AuthorizeRequest{
		PaymentID: "pay_test", Amount: 5000, Currency: "GHS",
		Card: &Card{Number: number, Exp: "12/30", CVC: "123"},
	}
}

func TestTestAuthorizeCards(t *testing.T) {
	tests := []struct {
		name    string
		number  string
		outcome Outcome
		code    string
	}{
		{"success", TestCardSuccess, Authorized, ""},
		{"success with spaces", "4242 4242 4242 4242", Authorized, ""},
		{"success with hyphens", "4242-4242-4242-4242", Authorized, ""},
		{"declined", TestCardDeclined, Declined, DeclineCardDeclined},
		{"insufficient funds", "4000 0000 0000 9995", Declined, DeclineInsufficientFunds},
		{"challenge", TestCardChallenge, ChallengeRequired, ""},
		{"pending", TestCardPending, Pending, ""},
		{"processing error", TestCardProcessingError, Declined, DeclineProcessingError},
	}
	p, _ := newTestProvider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := p.Authorize(context.Background(), cardReq(tt.number))
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != tt.outcome || res.DeclineCode != tt.code {
				t.Fatalf("got %s/%q, want %s/%q", res.Outcome, res.DeclineCode, tt.outcome, tt.code)
			}
			if _, ok := recall(res.Reference); !ok {
				t.Errorf("Reference = %q, want a tst_… reference", res.Reference)
			}
			digits, _ := normalizeNumber(tt.number)
			if res.Brand != "visa" || res.Last4 != digits[12:] {
				t.Errorf("Brand, Last4 = %q, %q; want visa, %q", res.Brand, res.Last4, digits[12:])
			}
			if (tt.code == "") != (res.DeclineMessage == "") {
				t.Errorf("DeclineMessage = %q with code %q", res.DeclineMessage, tt.code)
			}
		})
	}
}

func TestTestAuthorizeDeclines(t *testing.T) {
	with := func(number, exp, cvc string) AuthorizeRequest {
		r := cardReq(number)
		r.Card.Exp, r.Card.CVC = exp, cvc
		return r
	}
	live := cardReq(TestCardSuccess)
	live.Livemode = true
	liveNoCard := live
	liveNoCard.Card = nil
	tests := []struct {
		name         string
		req          AuthorizeRequest
		code         string
		brand, last4 string
	}{
		{"live mode", live, DeclineLiveModeNotSupported, "", ""},
		{"live mode without a card", liveNoCard, DeclineLiveModeNotSupported, "", ""},
		{"Luhn failure", cardReq("4242424242424241"), DeclineInvalidNumber, "", ""},
		{"letters", cardReq("4242 4242 4242 42a2"), DeclineInvalidNumber, "", ""},
		{"too short", cardReq("4242"), DeclineInvalidNumber, "", ""},
		{"too long", cardReq("42424242424242424242"), DeclineInvalidNumber, "", ""},
		{"empty number", cardReq(""), DeclineInvalidNumber, "", ""},
		{"valid mastercard, not a test card", cardReq("5555555555554444"), DeclineTestCardUnknown, "mastercard", "4444"},
		{"valid visa, not a test card", cardReq("4111111111111111"), DeclineTestCardUnknown, "visa", "1111"},
		{"valid amex, not a test card", cardReq("378282246310005"), DeclineTestCardUnknown, "amex", "0005"},
		{"expired", with(TestCardSuccess, "02/26", "123"), DeclineExpiredCard, "visa", "4242"},
		{"expiry month 13", with(TestCardSuccess, "13/30", "123"), DeclineInvalidExpiry, "visa", "4242"},
		{"expiry without slash", with(TestCardSuccess, "1230", "123"), DeclineInvalidExpiry, "visa", "4242"},
		{"empty expiry", with(TestCardSuccess, "", "123"), DeclineInvalidExpiry, "visa", "4242"},
		{"CVC too short", with(TestCardSuccess, "12/30", "12"), DeclineInvalidCVC, "visa", "4242"},
		{"CVC too long", with(TestCardSuccess, "12/30", "12345"), DeclineInvalidCVC, "visa", "4242"},
		{"CVC letters", with(TestCardSuccess, "12/30", "abc"), DeclineInvalidCVC, "visa", "4242"},
		{"empty CVC", with(TestCardSuccess, "12/30", ""), DeclineInvalidCVC, "visa", "4242"},
		{"4-digit CVC is fine, expiry is not", with(TestCardDeclined, "01/20", "1234"), DeclineExpiredCard, "visa", "0002"},
		{"validation before the card's own decline", with(TestCardDeclined, "12/30", "1"), DeclineInvalidCVC, "visa", "0002"},
	}
	p, _ := newTestProvider(t)
	messages := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := p.Authorize(context.Background(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != Declined || res.DeclineCode != tt.code {
				t.Fatalf("got %s/%q, want declined/%q", res.Outcome, res.DeclineCode, tt.code)
			}
			if res.Brand != tt.brand || res.Last4 != tt.last4 {
				t.Errorf("Brand, Last4 = %q, %q; want %q, %q", res.Brand, res.Last4, tt.brand, tt.last4)
			}
			if res.DeclineMessage == "" || !strings.HasSuffix(res.DeclineMessage, ".") {
				t.Errorf("DeclineMessage = %q, want a sentence", res.DeclineMessage)
			}
			if _, ok := recall(res.Reference); !ok {
				t.Errorf("Reference = %q, want a tst_… reference", res.Reference)
			}
			messages[tt.code] = res.DeclineMessage
		})
	}
	// Each code has its own message.
	seen := map[string]string{}
	for code, msg := range messages {
		if other, dup := seen[msg]; dup {
			t.Errorf("codes %q and %q share the message %q", code, other, msg)
		}
		seen[msg] = code
	}
	for _, c := range TestCards() {
		if !strings.Contains(messages[DeclineTestCardUnknown], groupDigits(c.Number)) {
			t.Errorf("test_card_unknown message does not list %s: %q", c.Number, messages[DeclineTestCardUnknown])
		}
	}
}

func TestTestAuthorizeInvalidRequest(t *testing.T) {
	mod := func(f func(*AuthorizeRequest)) AuthorizeRequest {
		r := cardReq(TestCardSuccess)
		f(&r)
		return r
	}
	tests := []struct {
		name string
		req  AuthorizeRequest
	}{
		{"no payment id", mod(func(r *AuthorizeRequest) { r.PaymentID = "" })},
		{"zero amount", mod(func(r *AuthorizeRequest) { r.Amount = 0 })},
		{"negative amount", mod(func(r *AuthorizeRequest) { r.Amount = -1 })},
		{"no currency", mod(func(r *AuthorizeRequest) { r.Currency = "" })},
		{"two-letter currency", mod(func(r *AuthorizeRequest) { r.Currency = "GH" })},
		{"not ISO 4217", mod(func(r *AuthorizeRequest) { r.Currency = "XYZ" })},
		{"no card in test mode", mod(func(r *AuthorizeRequest) { r.Card = nil })},
	}
	p, _ := newTestProvider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := p.Authorize(context.Background(), tt.req)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
			if strings.Contains(err.Error(), TestCardSuccess) {
				t.Errorf("error %q contains the card number", err)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Authorize(ctx, cardReq(TestCardSuccess)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
}

func TestTestReferencesAreUnique(t *testing.T) {
	p, _ := newTestProvider(t)
	seen := map[string]bool{}
	for range 100 {
		res, err := p.Authorize(context.Background(), cardReq(TestCardSuccess))
		if err != nil {
			t.Fatal(err)
		}
		if seen[res.Reference] {
			t.Fatalf("reference %q issued twice", res.Reference)
		}
		seen[res.Reference] = true
	}
}

func TestTestChallenge(t *testing.T) {
	ctx := context.Background()
	p, _ := newTestProvider(t)
	authorize := func(number string) string {
		t.Helper()
		res, err := p.Authorize(ctx, cardReq(number))
		if err != nil {
			t.Fatal(err)
		}
		return res.Reference
	}

	t.Run("approve", func(t *testing.T) {
		ref := authorize(TestCardChallenge)
		if err := p.Capture(ctx, ref, 5000); !errors.Is(err, ErrNotCapturable) {
			t.Errorf("Capture before the challenge: err = %v, want ErrNotCapturable", err)
		}
		res, err := p.CompleteChallenge(ctx, ref, true)
		if err != nil {
			t.Fatal(err)
		}
		want := Result{Outcome: Authorized, Reference: ref, Brand: "visa", Last4: "3220"}
		if res != want {
			t.Fatalf("got %+v, want %+v", res, want)
		}
		// First decision wins on a repeat.
		if again, err := p.CompleteChallenge(ctx, ref, false); err != nil || again != want {
			t.Errorf("repeat: %+v, %v; want %+v", again, err, want)
		}
		if err := p.Capture(ctx, ref, 5000); err != nil {
			t.Errorf("Capture after approval: %v", err)
		}
		if _, err := p.CompleteChallenge(ctx, ref, true); !errors.Is(err, ErrNoChallenge) {
			t.Errorf("challenge after capture: err = %v, want ErrNoChallenge", err)
		}
	})

	t.Run("refuse", func(t *testing.T) {
		ref := authorize(TestCardChallenge)
		res, err := p.CompleteChallenge(ctx, ref, false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != Declined || res.DeclineCode != DeclineAuthenticationFailed || res.Reference != ref || res.DeclineMessage == "" {
			t.Fatalf("got %+v, want declined/authentication_failed", res)
		}
		if again, _ := p.CompleteChallenge(ctx, ref, true); again != res {
			t.Errorf("repeat = %+v, want %+v", again, res)
		}
		if err := p.Capture(ctx, ref, 5000); !errors.Is(err, ErrNotCapturable) {
			t.Errorf("Capture after refusal: err = %v, want ErrNotCapturable", err)
		}
	})

	t.Run("void while waiting", func(t *testing.T) {
		ref := authorize(TestCardChallenge)
		if err := p.Void(ctx, ref); err != nil {
			t.Fatal(err)
		}
		if _, err := p.CompleteChallenge(ctx, ref, true); !errors.Is(err, ErrNoChallenge) {
			t.Errorf("challenge after void: err = %v, want ErrNoChallenge", err)
		}
	})

	t.Run("no challenge", func(t *testing.T) {
		for _, number := range []string{TestCardSuccess, TestCardDeclined, TestCardPending} {
			if _, err := p.CompleteChallenge(ctx, authorize(number), true); !errors.Is(err, ErrNoChallenge) {
				t.Errorf("%s: err = %v, want ErrNoChallenge", number, err)
			}
		}
		if _, err := p.CompleteChallenge(ctx, "tst_nope", true); !errors.Is(err, ErrUnknownReference) {
			t.Errorf("unknown reference: err = %v, want ErrUnknownReference", err)
		}
	})
}

func TestTestCaptureVoid(t *testing.T) {
	type step struct {
		op     string // "capture" or "void"
		amount int64
		want   error
	}
	tests := []struct {
		name   string
		number string // "" for a reference the provider never issued
		steps  []step
	}{
		{"capture unknown", "", []step{{"capture", 5000, ErrUnknownReference}}},
		{"void unknown", "", []step{{"void", 0, ErrUnknownReference}}},
		{"capture", TestCardSuccess, []step{{"capture", 5000, nil}}},
		{"partial capture", TestCardSuccess, []step{{"capture", 1200, nil}}},
		{"double capture is idempotent", TestCardSuccess, []step{{"capture", 5000, nil}, {"capture", 5000, nil}}},
		{"second capture with another amount", TestCardSuccess, []step{{"capture", 5000, nil}, {"capture", 4000, ErrAlreadyCaptured}}},
		{"capture over the authorised amount", TestCardSuccess, []step{{"capture", 5001, ErrCaptureAmount}, {"capture", 5000, nil}}},
		{"capture zero", TestCardSuccess, []step{{"capture", 0, ErrInvalidRequest}, {"capture", -5, ErrInvalidRequest}}},
		{"void", TestCardSuccess, []step{{"void", 0, nil}}},
		{"double void is idempotent", TestCardSuccess, []step{{"void", 0, nil}, {"void", 0, nil}}},
		{"capture after void", TestCardSuccess, []step{{"void", 0, nil}, {"capture", 5000, ErrAlreadyVoided}}},
		{"void after capture", TestCardSuccess, []step{{"capture", 5000, nil}, {"void", 0, ErrAlreadyCaptured}}},
		{"declined: no capture", TestCardDeclined, []step{{"capture", 5000, ErrNotCapturable}}},
		{"declined: no void", TestCardInsufficientFunds, []step{{"void", 0, ErrNotCapturable}}},
		{"invalid card: no capture", "4242424242424241", []step{{"capture", 5000, ErrNotCapturable}}},
		{"pending: capture", TestCardPending, []step{{"capture", 5000, nil}, {"void", 0, ErrAlreadyCaptured}}},
		{"pending: void", TestCardPending, []step{{"void", 0, nil}, {"capture", 5000, ErrAlreadyVoided}}},
		{"challenge waiting: no capture, void", TestCardChallenge, []step{{"capture", 5000, ErrNotCapturable}, {"void", 0, nil}}},
	}
	ctx := context.Background()
	p, _ := newTestProvider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := "tst_neverissued"
			if tt.number != "" {
				res, err := p.Authorize(ctx, cardReq(tt.number))
				if err != nil {
					t.Fatal(err)
				}
				ref = res.Reference
			}
			for i, s := range tt.steps {
				var err error
				switch s.op {
				case "capture":
					err = p.Capture(ctx, ref, s.amount)
				case "void":
					err = p.Void(ctx, ref)
				}
				if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
					t.Fatalf("step %d (%s %d): err = %v, want %v", i, s.op, s.amount, err, s.want)
				}
			}
		})
	}
}

func TestTestConcurrentCaptureAndVoid(t *testing.T) {
	ctx := context.Background()
	p, _ := newTestProvider(t)
	res, err := p.Authorize(ctx, cardReq(TestCardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	// Racing captures and voids: either all captures win or the void does,
	// never both.
	var wg sync.WaitGroup
	var mu sync.Mutex
	captured, voided := 0, 0
	for i := range 40 {
		wg.Go(func() {
			var err error
			if i%10 == 0 {
				if err = p.Void(ctx, res.Reference); err == nil {
					mu.Lock()
					voided++
					mu.Unlock()
				}
			} else if err = p.Capture(ctx, res.Reference, 5000); err == nil {
				mu.Lock()
				captured++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if captured > 0 && voided > 0 || captured+voided == 0 {
		t.Fatalf("captured %d times and voided %d times", captured, voided)
	}
}

func TestTestReferencesLapse(t *testing.T) {
	ctx := context.Background()
	p, clock := newTestProvider(t)
	auth := func() string {
		res, err := p.Authorize(ctx, cardReq(TestCardSuccess))
		if err != nil {
			t.Fatal(err)
		}
		return res.Reference
	}
	early, late := auth(), auth()
	clock.Advance(testAuthorizationTTL - time.Second)
	if err := p.Capture(ctx, early, 100); err != nil {
		t.Fatalf("capture within the TTL: %v", err)
	}
	clock.Advance(2 * time.Second)
	if err := p.Capture(ctx, late, 100); !errors.Is(err, ErrUnknownReference) {
		t.Fatalf("capture after the TTL: err = %v, want ErrUnknownReference", err)
	}
	if len(p.auths) != 0 || len(p.order) != 0 {
		t.Errorf("%d auths and %d order entries left after the TTL", len(p.auths), len(p.order))
	}
}

func TestTestReferencesCapped(t *testing.T) {
	ctx := context.Background()
	p, _ := newTestProvider(t)
	p.maxRefs = 3
	var refs []string
	for range 5 {
		res, err := p.Authorize(ctx, cardReq(TestCardSuccess))
		if err != nil {
			t.Fatal(err)
		}
		refs = append(refs, res.Reference)
	}
	if len(p.auths) != 3 {
		t.Errorf("%d references kept, want 3", len(p.auths))
	}
	// References pushed out of memory still work: each one records what
	// carrying it on needs (as after a restart, or on another replica).
	for i, ref := range refs {
		if err := p.Void(ctx, ref); err != nil {
			t.Errorf("ref %d: %v", i, err)
		}
	}
	if len(p.auths) > 3 {
		t.Errorf("%d references kept after recalling, want at most 3", len(p.auths))
	}
}

func TestTestReferencesSurviveARestart(t *testing.T) {
	ctx := context.Background()
	before := NewTest()
	auth, err := before.Authorize(ctx, cardReq(TestCardSuccess))
	if err != nil {
		t.Fatal(err)
	}
	challenge, err := before.Authorize(ctx, cardReq(TestCardChallenge))
	if err != nil {
		t.Fatal(err)
	}
	if err := NewTest().Capture(ctx, auth.Reference, 6000); !errors.Is(err, ErrCaptureAmount) {
		t.Fatalf("capture above the recalled amount: %v", err)
	}
	after := NewTest() // a new process knows none of them
	if err := after.Capture(ctx, auth.Reference, 5000); err != nil {
		t.Fatalf("capture after a restart: %v", err)
	}
	res, err := after.CompleteChallenge(ctx, challenge.Reference, true)
	if err != nil || res.Outcome != Authorized || res.Brand != "visa" || res.Last4 != "3220" {
		t.Fatalf("challenge after a restart: %+v %v", res, err)
	}
	for _, bad := range []string{"tst_nope", "tst_AAAAAAAAAAAAAAAAAAAAAAAA_4_x_1_visa_4242", "tst_AAAAAAAAAAAAAAAAAAAAAAAA_9_5000_1_visa_4242", "pay_x_4_5000_1_visa_4242"} {
		if err := after.Capture(ctx, bad, 1); !errors.Is(err, ErrUnknownReference) {
			t.Errorf("%q: %v, want ErrUnknownReference", bad, err)
		}
	}
}

func TestTestCardsDocumented(t *testing.T) {
	cards := TestCards()
	if len(cards) != 7 {
		t.Fatalf("%d test cards", len(cards))
	}
	cards[0].Number = "changed"
	if TestCards()[0].Number != TestCardSuccess {
		t.Error("TestCards returned shared state")
	}
	for _, c := range TestCards() {
		if !luhnValid(c.Number) || brandOf(c.Number) != "visa" || c.Description == "" {
			t.Errorf("bad test card %+v", c)
		}
	}
}

func TestOutcomeString(t *testing.T) {
	tests := map[Outcome]string{
		Authorized: "authorized", Declined: "declined", ChallengeRequired: "challenge_required",
		Pending: "pending", 0: "outcome(0)", 99: "outcome(99)",
	}
	for o, want := range tests {
		if got := o.String(); got != want {
			t.Errorf("Outcome(%d).String() = %q, want %q", int(o), got, want)
		}
	}
	if DeclineMessage("no_such_code") == "" {
		t.Error("DeclineMessage of an unknown code is empty")
	}
}

// TestTestProcessingErrorCascades: card 0119 fails on a route's first
// account only, so that a cascade's next attempt authorises.
func TestTestProcessingErrorCascades(t *testing.T) {
	p, _ := newTestProvider(t)
	for attempt, want := range map[int]Outcome{0: Declined, 1: Declined, 2: Authorized, 3: Authorized} {
		req := cardReq(TestCardProcessingError)
		req.Attempt = attempt
		res, err := p.Authorize(context.Background(), req)
		if err != nil || res.Outcome != want {
			t.Fatalf("attempt %d: %s, %v; want %s", attempt, res.Outcome, err, want)
		}
	}
}

func TestSavedTestCards(t *testing.T) {
	ctx := context.Background()
	p := NewTest()
	for _, bad := range []struct {
		live bool
		card *Card
	}{{true, &Card{Number: TestCardSuccess}}, {false, nil}, {false, &Card{Number: "4111111111111111"}}, {false, &Card{Number: "42"}}} {
		if _, err := p.SaveCard(ctx, bad.live, bad.card); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("save %+v: %v, want ErrInvalidRequest", bad, err)
		}
	}
	req := AuthorizeRequest{PaymentID: "pay_r", Amount: 1800, Currency: "EUR"}
	ok, err := p.SaveCard(ctx, false, &Card{Number: "4242 4242 4242 4242"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.AuthorizeSaved(ctx, req, ok)
	if err != nil || res.Outcome != Authorized || res.Last4 != "4242" {
		t.Fatalf("saved success card: %+v %v", res, err)
	}
	if err := p.Capture(ctx, res.Reference, 1800); err != nil {
		t.Fatalf("capture: %v", err)
	}
	// 0341 authorises at checkout but declines off-session.
	if res, err := p.Authorize(ctx, AuthorizeRequest{PaymentID: "pay_c", Amount: 1800, Currency: "EUR",
		Card: &Card{Number: TestCardOffSessionDeclined, Exp: "12/40", CVC: "123"}}); err != nil || res.Outcome != Authorized {
		t.Fatalf("0341 at checkout: %+v %v", res, err)
	}
	fails, _ := p.SaveCard(ctx, false, &Card{Number: TestCardOffSessionDeclined})
	if res, err := p.AuthorizeSaved(ctx, req, fails); err != nil || res.Outcome != Declined || res.DeclineCode != DeclineCardDeclined {
		t.Fatalf("0341 off-session: %+v %v", res, err)
	}
	if res, err := p.AuthorizeSaved(ctx, AuthorizeRequest{PaymentID: "pay_l", Amount: 1, Currency: "EUR", Livemode: true}, ok); err != nil || res.Outcome != Declined {
		t.Fatalf("live mode: %+v %v", res, err)
	}
	if _, err := p.AuthorizeSaved(ctx, req, "tok_test_4111111111111111"); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("unknown token: %v", err)
	}
}

// TestSetupCardSavesWithoutCharging: a free trial's card is saved without
// an authorisation; a card that declines at checkout declines here too,
// with its code, and is not saved; other modes and unknown cards are refused.
func TestSetupCardSavesWithoutCharging(t *testing.T) {
	p := NewTest()
	ctx := context.Background()
	res, err := p.SetupCard(ctx, SetupRequest{SetupID: "setup_1", Card: &Card{Number: "4242-4242-4242-4242"}})
	if err != nil || res.Outcome != Authorized || res.SavedToken != "tok_test_4242424242424242" || res.Last4 != "4242" || res.Brand != "visa" {
		t.Fatalf("setup 4242: %+v %v", res, err)
	}
	res, err = p.SetupCard(ctx, SetupRequest{SetupID: "setup_2", Card: &Card{Number: TestCardInsufficientFunds}})
	if err != nil || res.Outcome != Declined || res.DeclineCode != DeclineInsufficientFunds || res.SavedToken != "" {
		t.Fatalf("setup of a declining card: %+v %v", res, err)
	}
	for _, bad := range []struct {
		live bool
		card *Card
	}{{true, &Card{Number: TestCardSuccess}}, {false, &Card{Number: "4111 1111 1111 1111"}}, {false, nil}} {
		if _, err := p.SetupCard(ctx, SetupRequest{SetupID: "setup_3", Livemode: bad.live, Card: bad.card}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("setup %+v: %v", bad, err)
		}
	}
}

// TestTestFindAuthorization: the reference a payment's authorisation got is
// found by the payment's id while the provider remembers it, whatever
// happened to it since; a decline, a payment never authorised and a
// reference pushed out of memory are unknown.
func TestTestFindAuthorization(t *testing.T) {
	ctx := context.Background()
	p, _ := newTestProvider(t)
	p.maxRefs = 3
	authorize := func(paymentID, number string) Result {
		t.Helper()
		req := cardReq(number)
		req.PaymentID = paymentID
		res, err := p.Authorize(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	held := authorize("pay_held", TestCardSuccess)
	pending := authorize("pay_pending", TestCardPending)
	authorize("pay_declined", TestCardDeclined)
	if err := p.Void(ctx, held.Reference); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		payment string
		want    Result
	}{
		{"pay_held", Result{Outcome: Authorized, Reference: held.Reference, Brand: held.Brand, Last4: held.Last4}},
		{"pay_pending", Result{Outcome: Pending, Reference: pending.Reference, Brand: pending.Brand, Last4: pending.Last4}},
	} {
		if got, err := p.FindAuthorization(ctx, tc.payment); err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.payment, got, err, tc.want)
		}
	}
	for _, id := range []string{"pay_declined", "pay_never"} {
		if _, err := p.FindAuthorization(ctx, id); !errors.Is(err, ErrUnknownReference) {
			t.Errorf("%s: %v, want ErrUnknownReference", id, err)
		}
	}
	authorize("pay_later", TestCardSuccess) // the fourth reference pushes out the first
	if _, err := p.FindAuthorization(ctx, "pay_held"); !errors.Is(err, ErrUnknownReference) {
		t.Errorf("forgotten pay_held: %v, want ErrUnknownReference", err)
	}
	if len(p.byPayment) != 3 {
		t.Errorf("%d payments indexed, want 3 (as many as references kept)", len(p.byPayment))
	}
}

package provider

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzVerify: Verify never panics on any header, and a header made by Sign
// always verifies (and fails for any other body).
func FuzzVerify(f *testing.F) {
	f.Add([]byte("secret"), "t=1700000000,v1=88fab6e4ecf739c8a910ea5c979f0d13f1e891c8eb7a45382b4560d633b09f29", []byte(`{"id":"x"}`), int64(1700000000))
	f.Add([]byte("k"), "", []byte(""), int64(0))
	f.Add([]byte("k"), "t=,v1=,v1", []byte("{}"), int64(-1))
	f.Add([]byte(""), "t=9223372036854775807,v1=00", []byte("a"), int64(9223372036))
	f.Add([]byte("k"), "t=1, v0=x ,v1=zz,,", []byte("b"), int64(1))
	f.Fuzz(func(t *testing.T, secret []byte, header string, body []byte, unix int64) {
		// Clamp to the clocks callbacks can come from: after 1970 (Sign of an
		// earlier time writes a negative t, which Verify rightly refuses).
		now := time.Unix(int64(uint64(unix)%(1<<40)), 0)
		err := Verify(secret, header, body, now)
		if err != nil && !errors.Is(err, ErrNoSignature) && !errors.Is(err, ErrBadSignature) &&
			!errors.Is(err, ErrTimestamp) && !errors.Is(err, ErrNoSecret) {
			t.Fatalf("Verify returned a non-sentinel error: %v", err)
		}
		if len(secret) == 0 {
			return
		}
		signed := Sign(secret, body, now)
		if err := Verify(secret, signed, body, now); err != nil {
			t.Fatalf("Verify(Sign(...)) = %v", err)
		}
		if err := Verify(secret, signed, append(append([]byte(nil), body...), 'x'), now); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify of another body = %v, want ErrBadSignature", err)
		}
	})
}

// FuzzParseCallback: ParseCallback never panics, and what it accepts
// re-encodes to a body it accepts again with the same value.
func FuzzParseCallback(f *testing.F) {
	for _, seed := range []struct{ provider, body string }{
		{NameTest, `{"id":"pevt_1","type":"payment.succeeded","payment_id":"pay_1"}`},
		{NameTest, `{"id":"pevt_2","type":"payment.failed","payment_id":"pay_1","failure_code":"card_declined","reference":"tst_x","amount":5,"currency":"usd"}`},
		{NameBankTransfer, `{"id":"b","type":"funds.received","reference":"TP-1","amount":5000,"currency":"GHS"}`},
		{NameBankTransfer, `{"id":"b","id":"c"}`},
		{NameTest, `{"ID":"e"}`},
		{NameTest, `[1,{"a":[]}]`},
		{NameTest, `{"amount":1e400}`},
		{"other", `{}`},
		{NameTest, "\xff\xfe"},
	} {
		f.Add(seed.provider, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, provider string, body []byte) {
		c, err := ParseCallback(provider, body)
		if err != nil {
			if !errors.Is(err, ErrInvalidCallback) && !errors.Is(err, ErrUnknownProvider) {
				t.Fatalf("non-sentinel error: %v", err)
			}
			return
		}
		again, err := ParseCallback(provider, c.Encode())
		if err != nil {
			t.Fatalf("re-encoded %+v rejected: %v", c, err)
		}
		if again != c {
			t.Fatalf("round trip: %+v != %+v", again, c)
		}
	})
}

// FuzzTestAuthorize: any card the hosted form could post gives a result,
// never an error or a panic, and the result carries no card data beyond the
// last four digits.
func FuzzTestAuthorize(f *testing.F) {
	f.Add(TestCardSuccess, "12/30", "123")
	f.Add("4242 4242 4242 4242", "1/2030", "1234")
	f.Add(TestCardChallenge, "13/30", "12")
	f.Add("5555555555554444", "", "")
	f.Add("-- -- --", "/", "\x00")
	p := NewTest(WithClock(func() time.Time { return testNow }))
	f.Fuzz(func(t *testing.T, number, exp, cvc string) {
		req := AuthorizeRequest{PaymentID: "pay_f", Amount: 1, Currency: "USD", Card: &Card{Number: number, Exp: exp, CVC: cvc}}
		res, err := p.Authorize(context.Background(), req)
		if err != nil {
			t.Fatalf("Authorize: %v", err)
		}
		if res.Outcome < Authorized || res.Outcome > Pending {
			t.Fatalf("outcome %d", res.Outcome)
		}
		if _, ok := recall(res.Reference); !ok {
			t.Fatalf("reference %q", res.Reference)
		}
		if res.Last4 != "" && (len(res.Last4) != 4 || !allDigits(res.Last4)) {
			t.Fatalf("Last4 %q", res.Last4)
		}
		switch res.Brand {
		case "", "visa", "mastercard", "amex", "card":
		default:
			t.Fatalf("Brand %q", res.Brand)
		}
		if (res.Outcome == Declined) != (res.DeclineCode != "") || res.DeclineMessage != declineMessageOrEmpty(res.DeclineCode) {
			t.Fatalf("decline %q: %q", res.DeclineCode, res.DeclineMessage)
		}
		if res.Outcome != Declined {
			if digits, _ := normalizeNumber(number); digits == "" || !luhnValid(digits) {
				t.Fatalf("%s for an invalid number", res.Outcome)
			}
		}
	})
}

func declineMessageOrEmpty(code string) string {
	if code == "" {
		return ""
	}
	return DeclineMessage(code)
}

package provider

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLuhn(t *testing.T) {
	tests := []struct {
		digits string
		want   bool
	}{
		{TestCardSuccess, true},
		{TestCardDeclined, true},
		{TestCardInsufficientFunds, true},
		{TestCardChallenge, true},
		{TestCardPending, true},
		{"79927398713", true},       // the textbook example
		{"378282246310005", true},   // amex, odd length
		{"5555555555554444", true},  // mastercard
		{"4242424242424241", false}, // last digit off
		{"4242424242424224", false}, // two digits swapped
		{"0", true},
		{"", false},
		{"42a2", false},
	}
	for _, tt := range tests {
		if got := luhnValid(tt.digits); got != tt.want {
			t.Errorf("luhnValid(%q) = %v, want %v", tt.digits, got, tt.want)
		}
	}
}

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		raw, want string
		ok        bool
	}{
		{"4242424242424242", "4242424242424242", true},
		{"4242 4242 4242 4242", "4242424242424242", true},
		{" 4242-4242-4242-4242 ", "4242424242424242", true},
		{"4242\t4242 4242 4242", "4242424242424242", true},
		{"424242424242", "424242424242", true},               // 12 digits
		{"4242424242424242424", "4242424242424242424", true}, // 19 digits
		{"42424242424", "42424242424", false},                // 11
		{"42424242424242424242", "42424242424242424242", false},
		{"4242 4242 4242 424x", "", false},
		{"４２４２４２４２４２４２４２４２", "", false}, // full-width digits are not ASCII
		{"", "", false},
		{strings.Repeat(" ", 60) + "4242424242424242", "", false}, // longer than we scan
	}
	for _, tt := range tests {
		got, ok := normalizeNumber(tt.raw)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("normalizeNumber(%q) = %q, %v; want %q, %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBrandAndLast4(t *testing.T) {
	tests := []struct {
		number, brand, last4 string
	}{
		{"4242 4242 4242 4242", "visa", "4242"},
		{"4000000000000077", "visa", "0077"},
		{"5105105105105100", "mastercard", "5100"},
		{"5555555555554444", "mastercard", "4444"},
		{"2221000000000009", "mastercard", "0009"},
		{"2223003122003222", "mastercard", "3222"},
		{"2720999999999996", "mastercard", "9996"},
		{"2220999999999999", "card", "9999"}, // just below the 2-series range
		{"2721000000000004", "card", "0004"}, // just above it
		{"5000000000000009", "card", "0009"}, // 50 is not mastercard
		{"5600000000000003", "card", "0003"}, // nor 56
		{"378282246310005", "amex", "0005"},
		{"340000000000009", "amex", "0009"},
		{"6011111111111117", "card", "1117"},
		{"4242", "card", ""}, // malformed: no last4
		{"abcd", "card", ""}, // malformed
		{"", "card", ""},     // empty
		{"35", "card", ""},   // too short for any prefix
		{"3", "card", ""},    // too short for any prefix
		{"4111-1111-1111-1111", "visa", "1111"},
	}
	for _, tt := range tests {
		c := Card{Number: tt.number}
		if got := c.Brand(); got != tt.brand {
			t.Errorf("Card{%q}.Brand() = %q, want %q", tt.number, got, tt.brand)
		}
		if got := c.Last4(); got != tt.last4 {
			t.Errorf("Card{%q}.Last4() = %q, want %q", tt.number, got, tt.last4)
		}
	}
}

func TestCheckExpiry(t *testing.T) {
	mid := time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)
	lastSecond := time.Date(2026, time.March, 31, 23, 59, 59, 0, time.UTC)
	firstOfNext := time.Date(2026, time.April, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		exp  string
		now  time.Time
		want string
	}{
		{"03/26", mid, ""},
		{"03/26", lastSecond, ""}, // valid to the end of its month
		{"03/26", firstOfNext, DeclineExpiredCard},
		{"02/26", mid, DeclineExpiredCard},
		{"12/25", mid, DeclineExpiredCard},
		{"3/26", mid, ""},
		{"03/2026", mid, ""},
		{" 12 / 30 ", mid, ""},
		{"12/46", mid, ""},                    // 20 years ahead: allowed
		{"01/47", mid, DeclineInvalidExpiry},  // further: a typo
		{"13/30", mid, DeclineInvalidExpiry},  // no month 13
		{"00/30", mid, DeclineInvalidExpiry},  // no month 0
		{"1230", mid, DeclineInvalidExpiry},   // no slash
		{"12/3", mid, DeclineInvalidExpiry},   // one-digit year
		{"12/030", mid, DeclineInvalidExpiry}, // three-digit year
		{"123/30", mid, DeclineInvalidExpiry},
		{"12/30/1", mid, DeclineInvalidExpiry},
		{"ab/cd", mid, DeclineInvalidExpiry},
		{"-1/30", mid, DeclineInvalidExpiry},
		{"/", mid, DeclineInvalidExpiry},
		{"", mid, DeclineInvalidExpiry},
		{"03/26", time.Date(2026, time.March, 31, 23, 0, 0, 0, time.FixedZone("east", 5*3600)), ""}, // 18:00 UTC
	}
	for _, tt := range tests {
		if got := checkExpiry(tt.exp, tt.now); got != tt.want {
			t.Errorf("checkExpiry(%q, %s) = %q, want %q", tt.exp, tt.now, got, tt.want)
		}
	}
}

func TestValidCVC(t *testing.T) {
	tests := []struct {
		cvc  string
		want bool
	}{
		{"123", true}, {"1234", true}, {" 123 ", true}, {"000", true},
		{"12", false}, {"12345", false}, {"12a", false}, {"", false}, {"1 23", false}, {"-12", false},
	}
	for _, tt := range tests {
		if got := validCVC(tt.cvc); got != tt.want {
			t.Errorf("validCVC(%q) = %v, want %v", tt.cvc, got, tt.want)
		}
	}
}

// secretParts are the pieces of the card in TestCardRedaction that must never
// appear in any output.
var secretParts = []string{"4242424242424242", "4242 4242 4242 4242", "424242424242", "987", "12/34"}

func assertRedacted(t *testing.T, what, out string) {
	t.Helper()
	for _, s := range secretParts {
		if strings.Contains(out, s) {
			t.Errorf("%s = %q: contains %q", what, out, s)
		}
	}
}

func TestCardRedaction(t *testing.T) {
	card := Card{Number: "4242 4242 4242 4242", Exp: "12/34", CVC: "987"}
	req := AuthorizeRequest{PaymentID: "pay_1", Amount: 5000, Currency: "GHS", Card: &card}
	values := map[string]any{
		"Card":              card,
		"*Card":             &card,
		"AuthorizeRequest":  req,
		"*AuthorizeRequest": &req,
		"[]Card":            []Card{card},
		"map":               map[string]Card{"c": card},
		"exported Card":     struct{ C Card }{card},
		"exported *Card":    struct{ C *Card }{&card},
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X", "%10.3v", "%o", "%b", "%e"}
	for name, v := range values {
		for _, verb := range verbs {
			assertRedacted(t, fmt.Sprintf("Sprintf(%q, %s)", verb, name), fmt.Sprintf(verb, v))
		}
		assertRedacted(t, "Sprint("+name+")", fmt.Sprint(v))
		assertRedacted(t, "Sprintln("+name+")", fmt.Sprintln(v))

		// Without the time: its nanoseconds may hold the CVC's digits.
		noTime := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}
		for _, h := range []struct {
			name string
			new  func(*bytes.Buffer) slog.Handler
		}{
			{"text", func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, noTime) }},
			{"json", func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, noTime) }},
		} {
			var buf bytes.Buffer
			slog.New(h.new(&buf)).Info("authorising", "value", v)
			assertRedacted(t, h.name+" slog of "+name, buf.String())
		}

		b, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%s): %v", name, err)
		}
		assertRedacted(t, "json of "+name, string(b))
	}

	// What is shown is still useful: brand and last four digits.
	if got, want := card.String(), "Card{visa ****4242}"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := fmt.Sprintf("%#v", card), "provider.Card{visa ****4242}"; got != want {
		t.Errorf("%%#v = %q, want %q", got, want)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "card", card)
	if !strings.Contains(buf.String(), `"card":{"brand":"visa","last4":"4242"}`) {
		t.Errorf("slog JSON = %s, want brand and last4", buf.String())
	}
	if got := (Card{Number: "4242", CVC: "987"}).String(); got != "Card{****}" {
		t.Errorf("malformed card String() = %q, want Card{****}", got)
	}
}

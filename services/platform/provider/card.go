package provider

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// Card is what the hosted page collects in test mode. It is never logged or
// stored: every way of formatting it (fmt with any verb, log/slog,
// encoding/json) shows at most the brand and the last four digits, and only a
// Result's Brand and Last4 leave the provider. Keep a Card (or *Card) only in
// variables and exported struct fields, as AuthorizeRequest does: fmt prints
// a value it reaches through an unexported field by reflection, past these
// methods.
type Card struct {
	Number string // 12–19 digits; spaces and hyphens are ignored
	Exp    string // "MM/YY" (or "MM/YYYY"); spaces are ignored
	CVC    string // 3 or 4 digits
}

// Number lengths (ISO/IEC 7812): the shortest card numbers in use have 12
// digits, the longest 19. Anything outside is a typo, not a card.
const (
	minNumberLen = 12
	maxNumberLen = 19
	// maxRawNumberLen bounds the input we scan at all, so a hostile form post
	// cannot make normalisation costly; 19 digits with a separator after each
	// is well within it.
	maxRawNumberLen = 64
)

// maxExpiryYears: an expiry further ahead than this is taken as a typo.
// Issuers print expiries at most about ten years out.
const maxExpiryYears = 20

// Brand is the card brand inferred from the number: "visa", "mastercard",
// "amex", or "card" when unknown or the number is malformed.
func (c Card) Brand() string {
	digits, ok := normalizeNumber(c.Number)
	if !ok {
		return "card"
	}
	return brandOf(digits)
}

// Last4 is the last four digits of a well-formed number, or "" when the
// number is malformed (a short malformed number could be mostly digits of a
// real one).
func (c Card) Last4() string {
	digits, ok := normalizeNumber(c.Number)
	if !ok {
		return ""
	}
	return digits[len(digits)-4:]
}

// redacted is the only text a Card ever formats to.
func (c Card) redacted() string {
	if last4 := c.Last4(); last4 != "" {
		return "Card{" + c.Brand() + " ****" + last4 + "}"
	}
	return "Card{****}"
}

// String returns the redacted form: brand and last four digits at most.
func (c Card) String() string { return c.redacted() }

// GoString makes %#v redacted too.
func (c Card) GoString() string { return "provider." + c.redacted() }

// Format implements fmt.Formatter so that no verb (%d, %x, %+v, …) reaches
// the fields: without it, verbs that skip String print the struct's fields.
func (c Card) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, c.GoString())
	case verb == 'q':
		_, _ = io.WriteString(f, strconv.Quote(c.redacted()))
	default:
		_, _ = io.WriteString(f, c.redacted())
	}
}

// LogValue implements slog.LogValuer: a card logs as its brand and last four
// digits.
func (c Card) LogValue() slog.Value {
	return slog.GroupValue(slog.String("brand", c.Brand()), slog.String("last4", c.Last4()))
}

// MarshalJSON writes only the brand and the last four digits, so a Card
// inside a logged or stored JSON document cannot leak.
func (c Card) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Brand string `json:"brand"`
		Last4 string `json:"last4"`
	}{c.Brand(), c.Last4()})
}

// normalizeNumber strips spaces and hyphens and reports whether what is left
// is 12–19 ASCII digits.
func normalizeNumber(raw string) (string, bool) {
	if len(raw) > maxRawNumberLen {
		return "", false
	}
	var b strings.Builder
	b.Grow(len(raw))
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == ' ' || c == '-' || c == '\t':
			continue
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		default:
			return "", false
		}
	}
	digits := b.String()
	return digits, len(digits) >= minNumberLen && len(digits) <= maxNumberLen
}

// luhnValid reports whether a string of ASCII digits passes the Luhn
// (mod 10) check that every card number carries.
func luhnValid(digits string) bool {
	if digits == "" {
		return false
	}
	sum := 0
	double := false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if d < 0 || d > 9 {
			return false
		}
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// brandOf infers the brand from the issuer prefix of a normalised number.
func brandOf(digits string) string {
	prefix := func(n int) int {
		if len(digits) < n {
			return -1
		}
		v, _ := strconv.Atoi(digits[:n])
		return v
	}
	switch p2, p4 := prefix(2), prefix(4); {
	case strings.HasPrefix(digits, "4"):
		return "visa"
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return "mastercard"
	case p2 == 34 || p2 == 37:
		return "amex"
	}
	return "card"
}

// parseExpiry reads "MM/YY" or "MM/YYYY" (spaces ignored).
func parseExpiry(raw string) (year int, month time.Month, ok bool) {
	if len(raw) > 16 {
		return 0, 0, false
	}
	s := strings.ReplaceAll(raw, " ", "")
	mm, yy, found := strings.Cut(s, "/")
	if !found || !allDigits(mm) || !allDigits(yy) || len(mm) < 1 || len(mm) > 2 {
		return 0, 0, false
	}
	m, _ := strconv.Atoi(mm)
	y, _ := strconv.Atoi(yy)
	switch len(yy) {
	case 2:
		y += 2000
	case 4:
	default:
		return 0, 0, false
	}
	if m < 1 || m > 12 {
		return 0, 0, false
	}
	return y, time.Month(m), true
}

// checkExpiry returns "" for a usable expiry, or the decline code. A card is
// valid to the end of its expiry month (UTC).
func checkExpiry(raw string, now time.Time) string {
	y, m, ok := parseExpiry(raw)
	if !ok {
		return DeclineInvalidExpiry
	}
	now = now.UTC()
	if y > now.Year()+maxExpiryYears {
		return DeclineInvalidExpiry
	}
	endOfMonth := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC) // first instant after the month
	if !now.Before(endOfMonth) {
		return DeclineExpiredCard
	}
	return ""
}

// validCVC reports whether s (trimmed) is 3 or 4 digits.
func validCVC(s string) bool {
	s = strings.TrimSpace(s)
	return (len(s) == 3 || len(s) == 4) && allDigits(s)
}

// allDigits reports whether s is non-empty and only ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

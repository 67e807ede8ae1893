package dashboard

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/language"

	"github.com/tillpoint/tillpoint/services/platform/money"
)

// TestCatalogsMatch: both languages have the same keys, and money.Format
// knows each one's currency pattern (none falls back to CLDR's root one).
func TestCatalogsMatch(t *testing.T) {
	for lang := range catalogs {
		if !money.HasPattern(language.Make(lang)) {
			t.Errorf("money has no currency pattern for %s (add CLDR's to its patterns)", lang)
		}
	}
	for key := range catalogs["en"] {
		if _, ok := catalogs["fr"][key]; !ok {
			t.Errorf("fr lacks %q", key)
		}
	}
	for key := range catalogs["fr"] {
		if _, ok := catalogs["en"][key]; !ok {
			t.Errorf("en lacks %q", key)
		}
	}
}

// TestParseAmount: the amount typed and its minor units.
func TestParseAmount(t *testing.T) {
	eur, _ := money.ParseCurrency("EUR")
	jpy, _ := money.ParseCurrency("JPY")
	kwd, _ := money.ParseCurrency("KWD")
	for _, c := range []struct {
		in    string
		cur   money.Currency
		minor int64
		ok    bool
	}{
		{"12.50", eur, 1250, true}, {"12,5", eur, 1250, true}, {"12", eur, 1200, true}, {" 0.01 ", eur, 1, true},
		{"1.234", kwd, 1234, true}, {"500", jpy, 500, true}, {"999999999.99", eur, 99_999_999_999, true},
		{"12.505", eur, 0, false}, {"5.5", jpy, 0, false}, {"-1", eur, 0, false}, {"1e3", eur, 0, false},
		{"1 000", eur, 0, false}, {"", eur, 0, false}, {".5", eur, 0, false}, {"1.2.3", eur, 0, false},
		{"1000000000.00", eur, 0, false}, {"١٢", eur, 0, false},
	} {
		got, err := parseAmount(c.in, c.cur)
		if (err == nil) != c.ok || got != c.minor {
			t.Errorf("parseAmount(%q, %s) = %d, %v; want %d, ok %v", c.in, c.cur.Code(), got, err, c.minor, c.ok)
		}
	}
}

// TestPasswordHash: argon2id, salted, verified in constant time, and a
// malformed hash never matches.
func TestPasswordHash(t *testing.T) {
	ctx := context.Background()
	h1, err := HashPassword(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword(ctx, "correct horse battery staple")
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=7168,t=5,p=1$") || h1 == h2 {
		t.Fatalf("hashes %q %q", h1, h2)
	}
	for pw, want := range map[string]bool{"correct horse battery staple": true, "correct horse battery stapl": false, "": false} {
		if ok, err := VerifyPassword(ctx, pw, h1); ok != want || err != nil {
			t.Errorf("verify %q: %v %v", pw, ok, err)
		}
	}
	// A hash stored with the former parameters (19 MiB, 2 passes) still
	// verifies: it carries its own.
	salt := []byte("0123456789abcdef")
	b64 := base64.RawStdEncoding
	former := "$argon2id$v=19$m=19456,t=2,p=1$" + b64.EncodeToString(salt) + "$" +
		b64.EncodeToString(argon2.IDKey([]byte("correct horse battery staple"), salt, 2, 19456, 1, 32))
	if ok, err := VerifyPassword(ctx, "correct horse battery staple", former); !ok || err != nil {
		t.Errorf("a hash with the former parameters: %v %v", ok, err)
	}
	// Only a hash of other parameters than today's is to be rehashed.
	if NeedsRehash(h1) || !NeedsRehash(former) || NeedsRehash("$2a$10$abc") {
		t.Errorf("NeedsRehash: today's %v, former %v, bcrypt %v", NeedsRehash(h1), NeedsRehash(former), NeedsRehash("$2a$10$abc"))
	}
	for _, bad := range []string{"", "$2a$10$abc", "$argon2id$v=19$m=0,t=2,p=1$c2FsdA$aGFzaA", "$argon2id$v=19$m=19456,t=2,p=1$!!$aGFzaA"} {
		if ok, _ := VerifyPassword(ctx, "x", bad); ok {
			t.Errorf("malformed hash %q matched", bad)
		}
	}
}

// TestDecimal: minor units to the CSV's decimals, and back with parseAmount.
func TestDecimal(t *testing.T) {
	for _, c := range []struct {
		minor int64
		code  string
		want  string
	}{{0, "EUR", "0.00"}, {5, "EUR", "0.05"}, {1250, "EUR", "12.50"}, {99_999_999_999, "EUR", "999999999.99"},
		{500, "JPY", "500"}, {1234, "KWD", "1.234"}, {7, "KWD", "0.007"}} {
		cur, _ := money.ParseCurrency(c.code)
		got := decimal(c.minor, cur.Exponent())
		if got != c.want {
			t.Errorf("decimal(%d, %s) = %q, want %q", c.minor, c.code, got, c.want)
		}
		if back, err := parseAmount(got, cur); err != nil || back != c.minor {
			t.Errorf("parseAmount(%q, %s) = %d %v, want %d", got, c.code, back, err, c.minor)
		}
	}
	for in, want := range map[string]string{"=1+1": "'=1+1", "+33 1": "'+33 1", "-x": "'-x", "@a": "'@a", "a=b": "a=b", "": ""} {
		if got := cell(in); got != want {
			t.Errorf("cell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConversion: paid ÷ created to one decimal, rounded half up exactly.
func TestConversion(t *testing.T) {
	for _, c := range []struct {
		paid, created int64
		lang, want    string
	}{
		{0, 0, "en", "—"}, {0, 5, "en", "0.0%"}, {1, 3, "en", "33.3%"}, {2, 3, "en", "66.7%"},
		{1, 16, "en", "6.3%"}, {1, 2000, "en", "0.1%"}, {1, 2001, "en", "0.0%"}, {7, 7, "en", "100.0%"},
		{1, 8, "en", "12.5%"}, {1, 3, "fr", "33,3\u00a0%"}, {0, 0, "fr", "—"},
	} {
		if got := conversion(c.paid, c.created, c.lang); got != c.want {
			t.Errorf("conversion(%d, %d, %s) = %q, want %q", c.paid, c.created, c.lang, got, c.want)
		}
	}
}

// TestRendererParsesViewsOnUse: no view is kept from the start's check of
// them all; a view is parsed once per language and zone, on first use; and
// the sets kept stay bounded however many zones users have.
func TestRendererParsesViewsOnUse(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.sets) != 0 {
		t.Fatalf("%d view sets kept from the start", len(r.sets))
	}
	first, err := r.view("fr", time.UTC, "checkouts")
	if err != nil {
		t.Fatal(err)
	}
	again, err := r.view("fr", time.UTC, "checkouts")
	if err != nil || again != first {
		t.Fatalf("second use parsed again (%v)", err)
	}
	if n := len(r.sets["fr|UTC"].views); n != 1 {
		t.Errorf("%d views parsed for one use, want 1", n)
	}
	if _, err := r.view("en", time.UTC, "nosuch"); err == nil {
		t.Error("an unknown view rendered")
	}
	for i := range 3 * maxViewSets {
		loc := time.FixedZone(fmt.Sprintf("Z%d", i), i*60)
		if _, err := r.view("en", loc, "login"); err != nil {
			t.Fatal(err)
		}
		if len(r.sets) > maxViewSets {
			t.Fatalf("%d view sets kept, more than %d", len(r.sets), maxViewSets)
		}
	}
}

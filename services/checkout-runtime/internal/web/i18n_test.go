package web

import (
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// handlerKeys are the messages the handlers use: they must exist.
var handlerKeys = []string{
	"err.required", "err.email", "err.country", "err.postal_code",
	"err.card_number", "err.card_exp", "err.card_cvc", "err.method",
	"err.csrf", "err.rate_limited", "err.form", "err.region",
	"decline.card_declined", "decline.insufficient_funds",
	"decline.authentication_failed", "decline.test_card_unknown",
	"decline.invalid_number", "decline.expired_card", "decline.invalid_expiry",
	"decline.invalid_cvc", "decline.generic",
	"state.closed",
}

func TestCatalogsHaveTheSameKeys(t *testing.T) {
	en := catalogs["en"]
	for lang, msgs := range catalogs {
		for key, msg := range msgs {
			if strings.TrimSpace(msg) == "" {
				t.Errorf("%s: %s is empty", lang, key)
			}
			if _, ok := en[key]; !ok {
				t.Errorf("%s: %s is not in en", lang, key)
			}
			// The same fmt verbs, in the same order, or T garbles one side.
			if v, w := verbs(msg), verbs(en[key]); !slices.Equal(v, w) {
				t.Errorf("%s: %s has verbs %v, en has %v", lang, key, v, w)
			}
		}
		for key := range en {
			if _, ok := msgs[key]; !ok {
				t.Errorf("%s lacks %s", lang, key)
			}
		}
	}
	if len(catalogs) != len(supportedLangs) {
		t.Errorf("%d catalogs for %d languages", len(catalogs), len(supportedLangs))
	}
}

var verbRE = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

func verbs(s string) []string { return verbRE.FindAllString(s, -1) }

func TestExactMessages(t *testing.T) {
	tr := newTranslator("en")
	for key, want := range map[string]string{
		"err.csrf":                  "Your session on this page expired; please try again.",
		"err.rate_limited":          "Too many payment attempts. Wait a few minutes before trying again.",
		"decline.test_card_unknown": "Only the test cards listed above work in test mode.",
	} {
		if got := tr.T(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for _, key := range handlerKeys {
		for lang := range catalogs {
			if _, ok := catalogs[lang][key]; !ok {
				t.Errorf("%s lacks %s", lang, key)
			}
		}
	}
}

// TestTemplateKeysExist parses every `t "key"` out of the template sources
// and checks both catalogs have it, plus the label keys the error summary
// looks up by field name.
func TestTemplateKeysExist(t *testing.T) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	used := map[string]bool{}
	keyRE := regexp.MustCompile(`[({\s]t\s+"([^"]+)"`)
	for _, f := range files {
		src, err := templateFS.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyRE.FindAllStringSubmatch(string(src), -1) {
			used[m[1]] = true
		}
	}
	for _, name := range formFields {
		used[fieldOf(&Page{}, name).LabelKey] = true
	}
	if len(used) < 50 {
		t.Errorf("found only %d keys in the templates; is the pattern right?", len(used))
	}
	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		for lang, msgs := range catalogs {
			if _, ok := msgs[key]; !ok {
				t.Errorf("template key %q missing from %s", key, lang)
			}
		}
	}
	// Every view file is used by a state, and every state has a view.
	for _, f := range files {
		name := strings.TrimPrefix(f, "templates/")
		if name != layoutFile && !slices.ContainsFunc(allStates, func(s State) bool { return viewFiles[s] == name }) {
			t.Errorf("%s is not the view of any state", name)
		}
	}
	for _, s := range allStates {
		if _, ok := viewFiles[s]; !ok {
			t.Errorf("state %s has no view", s)
		}
	}
}

func TestTranslator(t *testing.T) {
	en, fr := newTranslator("en"), newTranslator("fr")
	if got := en.T("pay.button", "€50.00"); got != "Pay €50.00" {
		t.Errorf("en pay.button = %q", got)
	}
	if got := fr.T("pay.button", "50,00 €"); got != "Payer 50,00 €" {
		t.Errorf("fr pay.button = %q", got)
	}
	if got := newTranslator("de").T("pay.button", "x"); got != "Pay x" {
		t.Errorf("unknown language: %q", got)
	}
	if got := fr.T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key: %q", got)
	}
	// A message with a literal % and no args is returned as is.
	if got := en.T("items.qty"); got != "%d × %s" {
		t.Errorf("no args: %q", got)
	}
}

func TestNegotiateLang(t *testing.T) {
	for _, tc := range []struct {
		session, accept, want string
	}{
		{"", "", "en"},
		{"fr", "", "fr"},
		{"en", "fr-FR,fr;q=0.9", "en"},
		{"fr", "en-US,en;q=0.9", "fr"},
		{"FR", "", "fr"},
		{"fr-CA", "", "fr"},
		{"fr_BE", "", "fr"},
		{"auto", "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr"},
		{"de", "fr", "fr"},
		{"", "de-DE,de;q=0.9,fr;q=0.5", "fr"},
		{"", "de-DE,de;q=0.9", "en"},
		{"", "en-GB,en;q=0.9,fr;q=0.8", "en"},
		{"", "fr;q=0.2,en;q=0.9", "en"},
		{"", "fr;q=0, en", "en"},
		{"", "*", "en"},
		{"", "ja", "en"},
		{"", "garbage;;;q=x", "en"},
		{"xx-invalid-locale-that-is-long", "fr", "fr"},
		{"", strings.Repeat("fr,", 2000), "fr"},
	} {
		if got := negotiateLang(tc.session, tc.accept); got != tc.want {
			t.Errorf("negotiateLang(%q, %.40q) = %q, want %q", tc.session, tc.accept, got, tc.want)
		}
	}
}

func FuzzNegotiateLang(f *testing.F) {
	f.Add("fr", "en")
	f.Add("", "fr-CA,fr;q=0.9")
	f.Add("zz", "*;q=0.1")
	f.Fuzz(func(t *testing.T, session, accept string) {
		if got := negotiateLang(session, accept); got != "en" && got != "fr" {
			t.Fatalf("negotiateLang(%q, %q) = %q", session, accept, got)
		}
	})
}

func TestBrandName(t *testing.T) {
	for _, c := range []struct{ brand, lang, want string }{
		{"visa", "en", "Visa"}, {"mastercard", "fr", "Mastercard"}, {"amex", "en", "American Express"},
		{"card", "en", "Card"}, {"card", "fr", "Carte"}, {"", "de", "Card"},
	} {
		if got := brandName(c.brand, c.lang); got != c.want {
			t.Errorf("brandName(%q, %q) = %q, want %q", c.brand, c.lang, got, c.want)
		}
	}
}

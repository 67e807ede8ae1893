package apikey

import (
	"bytes"
	"strings"
	"testing"
)

func TestGenerateParse(t *testing.T) {
	for _, live := range []bool{false, true} {
		s := Generate(live)
		gotLive, ok := Parse(s)
		if !ok || gotLive != live {
			t.Fatalf("Parse(%q) = %v, %v; want %v, true", s, gotLive, ok, live)
		}
		if DisplayPrefix(s) != s[:12] || !strings.HasPrefix(s, "sk_") {
			t.Fatalf("bad display prefix %q for %q", DisplayPrefix(s), s)
		}
	}
	if Generate(false) == Generate(false) {
		t.Fatal("two generated keys are equal")
	}
}

func TestParseRejects(t *testing.T) {
	good := Generate(false)
	for _, s := range []string{"", "sk_test_", "pk_test_" + good[8:], good + "x", good[:len(good)-1], good[:20] + "!" + good[21:], "sk_prod_" + good[8:]} {
		if _, ok := Parse(s); ok {
			t.Errorf("Parse(%q) accepted a malformed key", s)
		}
	}
}

func TestHashIsStableAndDistinct(t *testing.T) {
	a, b := Generate(true), Generate(true)
	if !bytes.Equal(Hash(a), Hash(a)) || bytes.Equal(Hash(a), Hash(b)) || len(Hash(a)) != 32 {
		t.Fatal("Hash must be a stable 32-byte digest that differs between keys")
	}
}

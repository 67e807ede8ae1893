package ids

import (
	"strings"
	"testing"
)

func TestIsNew(t *testing.T) {
	made := New("cus")
	for id, want := range map[string]bool{
		made:                             true,
		"cus_1":                          false, // a merchant's own reference
		"cus_" + strings.Repeat("a", 25): false,
		"cus_" + strings.Repeat("-", 24): false,
		"prod" + made[3:]:                false,
		"":                               false,
	} {
		if got := IsNew(id, "cus"); got != want {
			t.Errorf("IsNew(%q) = %v, want %v", id, got, want)
		}
	}
}

package country

import (
	"testing"

	"golang.org/x/text/language"
)

func TestParse(t *testing.T) {
	for _, ok := range []string{"FR", "fr", "GB", "US", "DE", "JP", "GH", "XK"} {
		if _, good := Parse(ok); !good {
			t.Errorf("Parse(%q) refused a country", ok)
		}
	}
	for _, bad := range []string{"", "F", "FRA", "UK", "EU", "UN", "EZ", "ZZ", "AA", "QO", "12"} {
		if c, good := Parse(bad); good {
			t.Errorf("Parse(%q) accepted as %q", bad, c)
		}
	}
}

func TestList(t *testing.T) {
	en, fr := List(language.English), List(language.French)
	if len(en) < 240 || len(en) != len(fr) {
		t.Fatalf("%d English and %d French countries", len(en), len(fr))
	}
	names := map[string]string{}
	for _, e := range fr {
		names[e.Code] = e.Name
	}
	if names["DE"] != "Allemagne" || Name("DE", language.English) != "Germany" {
		t.Fatalf("names: %q %q", names["DE"], Name("DE", language.English))
	}
	pos := map[string]int{}
	for i, e := range en {
		pos[e.Code] = i
	}
	// Collation order, not byte order: "Åland Islands" sorts among the A's.
	if !(pos["AF"] < pos["AX"] && pos["AX"] < pos["BE"] && pos["BE"] < pos["ZW"]) {
		t.Fatalf("English list not in alphabetical order: AF %d, AX %d, BE %d, ZW %d", pos["AF"], pos["AX"], pos["BE"], pos["ZW"])
	}
}

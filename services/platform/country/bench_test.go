package country

import (
	"testing"

	"golang.org/x/text/language"
)

// BenchmarkList is a page view's cost (cached), BenchmarkBuildList the
// first one's for a language.
func BenchmarkList(b *testing.B) {
	for b.Loop() {
		List(language.French)
	}
}

func BenchmarkBuildList(b *testing.B) {
	for b.Loop() {
		buildList(language.French)
	}
}

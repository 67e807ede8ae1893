// Package country validates ISO 3166-1 alpha-2 country codes and lists the
// countries with their names in a language, both from golang.org/x/text.
package country

import (
	"slices"
	"strings"
	"sync"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// Parse returns the upper-case code if code names a country: not a
// grouping (EU, UN), not a reserved or deprecated code (UK, EZ), not private use.
func Parse(code string) (string, bool) {
	if len(code) != 2 {
		return "", false
	}
	r, err := language.ParseRegion(code)
	if err != nil || !r.IsCountry() || r.ISO3() == "ZZZ" || r.Canonicalize() != r {
		return "", false
	}
	return r.String(), true
}

// Entry is a country with its name in some language.
type Entry struct {
	Code, Name string
}

var (
	codesOnce sync.Once
	codes     []string
)

// allCodes enumerates the two-letter space once: every code Parse accepts.
func allCodes() []string {
	codesOnce.Do(func() {
		for a := 'A'; a <= 'Z'; a++ {
			for b := 'A'; b <= 'Z'; b++ {
				if c, ok := Parse(string([]rune{a, b})); ok {
					codes = append(codes, c)
				}
			}
		}
	})
	return codes
}

var (
	listsMu sync.Mutex
	lists   = map[language.Tag][]Entry{}
)

// List returns every country named in lang, in that language's alphabetical
// order. The list is built once per language (naming and collating some 250
// countries costs about 0.2 ms, too much for every page view) and shared:
// callers must not modify it.
func List(lang language.Tag) []Entry {
	listsMu.Lock()
	defer listsMu.Unlock()
	if l, ok := lists[lang]; ok {
		return l
	}
	l := buildList(lang)
	lists[lang] = l
	return l
}

func buildList(lang language.Tag) []Entry {
	names := display.Regions(lang)
	out := make([]Entry, 0, len(allCodes()))
	for _, c := range allCodes() {
		r := language.MustParseRegion(c)
		name := names.Name(r)
		if name == "" {
			name = c
		}
		out = append(out, Entry{Code: c, Name: name})
	}
	col := collate.New(lang, collate.Loose)
	slices.SortFunc(out, func(a, b Entry) int { return col.CompareString(a.Name, b.Name) })
	return out
}

// Name returns the country's name in lang, or the code if it has none.
func Name(code string, lang language.Tag) string {
	r, err := language.ParseRegion(strings.ToUpper(code))
	if err != nil {
		return code
	}
	if n := display.Regions(lang).Name(r); n != "" {
		return n
	}
	return code
}

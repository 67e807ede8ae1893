package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"golang.org/x/text/language"
)

// The hosted page's messages are data: one JSON file per language in
// locales/ ("en.json", "fr.json", "es.json"), with the same keys (a test
// checks it). Adding a language is adding a file. French typography uses a
// no-break space (\u00a0) before ":" "?" "!" and inside "« »".

// defaultLang is the page language when nothing better is known.
const defaultLang = "en"

//go:embed locales/*.json
var localeFS embed.FS

// catalogs holds every page message by language, then key. Keys are grouped
// by prefix: err.* (form validation), decline.* (provider results, shown as
// the form error), state.* (what happened to the session), and the page
// texts by view. How an amount is laid out is not a message: money.Format
// holds it (CLDR data, shared with the Admin Panel). The files are compiled
// in, so a malformed one fails every test and the build's smoke run, never
// a payer's request.
var catalogs = mustLoadCatalogs(localeFS)

// supportedLangs are the page languages, the default first: the matcher
// falls back to the first entry.
var supportedLangs = langTags(catalogs)

// langMatcher picks the page language from an Accept-Language header. It is
// built once: a Matcher is safe for concurrent use.
var langMatcher = language.NewMatcher(supportedLangs)

// mustLoadCatalogs reads every locales/{lang}.json. It panics on a file
// that is not a JSON object of strings: the files are embedded, so that is
// a build defect, like a bad regexp.MustCompile pattern.
func mustLoadCatalogs(fsys fs.FS) map[string]map[string]string {
	files, err := fs.Glob(fsys, "locales/*.json")
	if err != nil || len(files) == 0 {
		panic(fmt.Sprintf("web: no locale files: %v", err))
	}
	out := make(map[string]map[string]string, len(files))
	for _, f := range files {
		raw, err := fs.ReadFile(fsys, f)
		if err != nil {
			panic(fmt.Sprintf("web: read %s: %v", f, err))
		}
		var msgs map[string]string
		if err := json.Unmarshal(raw, &msgs); err != nil {
			panic(fmt.Sprintf("web: parse %s: %v", f, err))
		}
		out[strings.TrimSuffix(path.Base(f), ".json")] = msgs
	}
	if _, ok := out[defaultLang]; !ok {
		panic("web: no locales/" + defaultLang + ".json")
	}
	return out
}

// langTags lists the catalogs' languages, the default first, then sorted.
func langTags(cats map[string]map[string]string) []language.Tag {
	codes := make([]string, 0, len(cats))
	for code := range cats {
		if code != defaultLang {
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)
	tags := []language.Tag{language.Make(defaultLang)}
	for _, c := range codes {
		tags = append(tags, language.Make(c))
	}
	return tags
}

// negotiateLang chooses a page language: the session's locale when it names
// one of them (a region or script is ignored, so "fr-CA" means "fr"),
// otherwise the browser's best Accept-Language match, otherwise "en".
func negotiateLang(sessionLocale, acceptLanguage string) string {
	if l := baseLang(sessionLocale); l != "" {
		return l
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return defaultLang
	}
	_, idx, conf := langMatcher.Match(tags...)
	if conf == language.No || idx < 0 || idx >= len(supportedLangs) {
		return defaultLang
	}
	base, _ := supportedLangs[idx].Base()
	return base.String()
}

// baseLang returns the page language locale names when it is a well-formed
// tag whose language has a catalog, and "" otherwise (empty, "auto", "ja",
// junk).
func baseLang(locale string) string {
	locale = strings.TrimSpace(strings.ReplaceAll(locale, "_", "-"))
	// 35 characters is far more than any real tag needs ("fr-Latn-CA-x-…");
	// longer input is not worth parsing.
	if locale == "" || len(locale) > 35 {
		return ""
	}
	tag, err := language.Parse(locale)
	if err != nil {
		return ""
	}
	base, conf := tag.Base()
	if conf != language.Exact {
		return ""
	}
	if _, ok := catalogs[base.String()]; ok {
		return base.String()
	}
	return ""
}

// translator looks messages up in one language's catalog.
type translator struct {
	lang string
	msgs map[string]string
}

// newTranslator returns the translator for lang; a language without a
// catalog gets English.
func newTranslator(lang string) translator {
	msgs, ok := catalogs[lang]
	if !ok {
		lang, msgs = defaultLang, catalogs[defaultLang]
	}
	return translator{lang: lang, msgs: msgs}
}

// T returns the message for key, formatted with args (fmt verbs) when there
// are any. A key missing from the language falls back to English, then to
// the key itself, so a gap shows up on the page instead of failing it.
func (tr translator) T(key string, args ...any) string {
	msg, ok := tr.msgs[key]
	if !ok {
		if msg, ok = catalogs[defaultLang][key]; !ok {
			msg = key
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

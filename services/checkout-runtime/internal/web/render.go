package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmlesc "html"
	"html/template"
	"io"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The page templates, the stylesheets (style.css for every view, open.css
// for the payment form only) and the script, all compiled into the
// binary: the page makes no request for them (no third-party requests, one
// round trip) and a deploy cannot ship mismatched files.
//
//go:embed templates
var templateFS embed.FS

// layoutFile holds the document around every view; each view file defines
// the "title", "content" and optionally "head" blocks.
const layoutFile = "layout.html"

// viewFiles maps each state to the template file that shows it.
var viewFiles = map[State]string{
	StateOpen:         "open.html",
	StateChallenge:    "challenge.html",
	StateProcessing:   "processing.html",
	StateBankTransfer: "bank_transfer.html",
	StatePaid:         "paid.html",
	StateCompleted:    "completed.html",
	StateExpired:      "expired.html",
	StateNotFound:     "not_found.html",
	StateUnavailable:  "unavailable.html",
	StateReturn:       "return.html",
	StateMobileMoney:  "mobile_money.html",
}

// Fallback colours when a site's colour is missing or not a #rrggbb value:
// a blue that takes white text at 5.2:1, and a teal accent.
const (
	defaultPrimary = "#1d4ed8"
	defaultAccent  = "#0f766e"
	// pageBackground is the body colour in style.css; links drawn in the
	// primary colour must be readable on it (and so on the white panels).
	pageBackground = "#f6f7f9"
)

// minContrast is WCAG 2.x level AA for normal-size text.
const minContrast = 4.5

// renderer executes the page templates. The templates are parsed and
// specialised per language once, in newRenderer; a *renderer is safe for
// concurrent use.
type renderer struct {
	// views holds one template set per language and state, with the "t"
	// function bound to that language.
	views map[string]map[State]*template.Template
}

// bufPool recycles render buffers: a page is about 20 KB, and every render
// builds it whole before writing.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// newRenderer parses the embedded templates and checks that each view can
// be escaped (html/template reports context errors only on first execution,
// so they are forced here rather than on a customer's request).
func newRenderer() (*renderer, error) { return buildRenderer(true) }

// buildRenderer is newRenderer; inline false keeps every {{t "key"}} a call
// (the tests compare both ways).
func buildRenderer(inline bool) (*renderer, error) {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return nil, fmt.Errorf("web: read stylesheet: %w", err)
	}
	openCSS, err := templateFS.ReadFile("templates/open.css")
	if err != nil {
		return nil, fmt.Errorf("web: read the form's stylesheet: %w", err)
	}
	js, err := templateFS.ReadFile("templates/script.js")
	if err != nil {
		return nil, fmt.Errorf("web: read script: %w", err)
	}
	stripeJS, err := templateFS.ReadFile("templates/stripe.js")
	if err != nil {
		return nil, fmt.Errorf("web: read Stripe script: %w", err)
	}
	funcs := pageFuncs(template.CSS(css), template.JS(withoutLineComments(js)))
	funcs["opencss"] = func() template.CSS { return template.CSS(openCSS) }
	funcs["stripejs"] = func() template.JS { return template.JS(stripeJS) }
	layout, err := templateFS.ReadFile("templates/" + layoutFile)
	if err != nil {
		return nil, fmt.Errorf("web: read layout: %w", err)
	}

	r := &renderer{views: make(map[string]map[State]*template.Template, len(catalogs))}
	for lang := range catalogs {
		tr := newTranslator(lang)
		source := func(b []byte) string { return string(b) }
		if inline {
			source = tr.inline
		}
		base, err := template.New(layoutFile).Funcs(funcs).Funcs(template.FuncMap{"t": tr.T}).Parse(source(layout))
		if err != nil {
			return nil, fmt.Errorf("web: parse layout (%s): %w", lang, err)
		}
		r.views[lang] = make(map[State]*template.Template, len(viewFiles))
		for state, file := range viewFiles {
			text, err := templateFS.ReadFile("templates/" + file)
			if err != nil {
				return nil, fmt.Errorf("web: read %s: %w", file, err)
			}
			view, err := base.Clone()
			if err != nil {
				return nil, fmt.Errorf("web: clone layout for %s: %w", file, err)
			}
			if _, err := view.Parse(source(text)); err != nil {
				return nil, fmt.Errorf("web: parse %s (%s): %w", file, lang, err)
			}
			// Escape now. Execution errors from the empty page are
			// expected and ignored; escaping errors are template bugs.
			err = view.Execute(io.Discard, &Page{Lang: lang, State: state})
			var tmplErr *template.Error
			if errors.As(err, &tmplErr) {
				return nil, fmt.Errorf("web: %s (%s): %w", file, lang, err)
			}
			r.views[lang][state] = view
		}
	}
	return r, nil
}

// withoutLineComments drops the script's whole-line // comments: they are
// for its readers, and every page would carry them.
func withoutLineComments(js []byte) string {
	lines := strings.Split(string(js), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !strings.HasPrefix(strings.TrimSpace(l), "//") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}

// literalT is a template action that translates a fixed key, {{t "key"}}.
var literalT = regexp.MustCompile(`\{\{t "([a-z0-9_.]+)"\}\}`)

// inline writes the translation of every {{t "key"}} into the template
// text, HTML-escaped, so that rendering does not call t for it: the page's
// ~40 fixed labels were a good part of a first view's cost. The actions are
// in element text and quoted attribute values only, where the escaped text
// means what html/template's own escaping of t's result would; a translation
// that looks like template syntax stays a call.
func (tr translator) inline(text []byte) string {
	return literalT.ReplaceAllStringFunc(string(text), func(action string) string {
		msg := tr.T(literalT.FindStringSubmatch(action)[1])
		if strings.Contains(msg, "{{") || strings.Contains(msg, "}}") {
			return action
		}
		return template.HTMLEscapeString(msg)
	})
}

// render writes p as a complete HTML page with the given status. The page is
// built in memory first, so a template error sends nothing and the caller
// can still answer with an error page. Security headers (CSP with p.Nonce,
// HSTS, Cache-Control: no-store) are the handler's job, not this one's.
func (r *renderer) render(w http.ResponseWriter, status int, p *Page) error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := r.execute(buf, p); err != nil {
		return err
	}
	return writePage(w, status, buf.Bytes())
}

func (r *renderer) execute(buf *bytes.Buffer, p *Page) error {
	if p == nil {
		return errors.New("web: render: nil page")
	}
	langViews, ok := r.views[p.Lang]
	if !ok {
		langViews = r.views[defaultLang]
	}
	view, ok := langViews[p.State]
	if !ok {
		return fmt.Errorf("web: render: no view for state %q", p.State)
	}
	if err := view.Execute(buf, p); err != nil {
		return fmt.Errorf("web: render %s: %w", p.State, err)
	}
	return nil
}

// bytes renders p into a new slice.
func (r *renderer) bytes(p *Page) ([]byte, error) {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := r.execute(buf, p); err != nil {
		return nil, err
	}
	return bytes.Clone(buf.Bytes()), nil
}

func writePage(w http.ResponseWriter, status int, page []byte) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	w.WriteHeader(status)
	_, err := w.Write(page)
	return err
}

// pageFuncs are the template functions other than "t", which newRenderer
// binds per language. css and js are the embedded stylesheet and script.
func pageFuncs(css template.CSS, js template.JS) template.FuncMap {
	return template.FuncMap{
		// t is replaced per language; this placeholder lets the layout parse.
		"t":              newTranslator(defaultLang).T,
		"css":            func() template.CSS { return css },
		"js":             func() template.JS { return js },
		"primary":        func(c string) template.CSS { return cssColor(c, defaultPrimary) },
		"accent":         func(c string) template.CSS { return cssColor(c, defaultAccent) },
		"readableOn":     readableOn,
		"countryOptions": countryOptions,
		"inkOn":          inkOn,
		"field":          fieldOf,
		"errorList":      errorList,
		"selectedMethod": selectedMethod,
		"hasMethod":      hasMethod,
		"pageURL":        pageURL,
		"quoteURL":       quoteURL,
		"back":           backOf,
		"max1":           func(n int) int { return max(n, 1) },
		"initial":        initial,
	}
}

// cssColor returns c when it is a #rgb or #rrggbb colour, and fallback
// otherwise. The result goes into a <style> block unescaped (template.CSS),
// so nothing but those forms may pass.
func cssColor(c, fallback string) template.CSS {
	if _, ok := parseHexColor(c); ok {
		return template.CSS(strings.ToLower(c))
	}
	return template.CSS(fallback)
}

// readableOn returns the text colour, "#fff" or "#111", that contrasts most
// with the background bg (for buttons in the site's primary colour). For the
// narrow band of mid-tones where neither reaches 4.5:1 (#111 peaks at about
// 4.35:1 there) it returns "#000", which always does. An unparsable bg is
// treated as the default primary colour.
func readableOn(bg string) string {
	rgb, ok := parseHexColor(bg)
	if !ok {
		rgb, _ = parseHexColor(defaultPrimary)
	}
	l := luminance(rgb)
	onWhite := contrast(1, l)
	onDark := contrast(luminance([3]float64{0x11 / 255.0, 0x11 / 255.0, 0x11 / 255.0}), l)
	switch {
	case onWhite >= onDark && onWhite >= minContrast:
		return "#fff"
	case onDark > onWhite && onDark >= minContrast:
		return "#111"
	default:
		return "#000"
	}
}

// inkOn returns c, darkened just enough to be readable as text (links, focus
// outlines) on the page background. A site's primary colour is often too
// light for text, and 4.5:1 is needed for links.
func inkOn(c string) template.CSS {
	rgb, ok := parseHexColor(c)
	if !ok {
		rgb, _ = parseHexColor(defaultPrimary)
	}
	bg, _ := parseHexColor(pageBackground)
	bgL := luminance(bg)
	// Darken in 8 % steps, rounding to 8-bit channels each time, so the
	// colour checked is exactly the colour written.
	for range 40 {
		if contrast(luminance(rgb), bgL) >= minContrast {
			break
		}
		for i := range rgb {
			rgb[i] = math.Floor(rgb[i]*0.92*255) / 255
		}
	}
	return template.CSS(fmt.Sprintf("#%02x%02x%02x",
		int(math.Round(rgb[0]*255)), int(math.Round(rgb[1]*255)), int(math.Round(rgb[2]*255))))
}

// parseHexColor reads #rgb or #rrggbb into sRGB components in [0, 1].
func parseHexColor(s string) ([3]float64, bool) {
	var rgb [3]float64
	if len(s) != 4 && len(s) != 7 || s[0] != '#' {
		return rgb, false
	}
	hex := s[1:]
	if len(hex) == 3 {
		hex = string([]byte{hex[0], hex[0], hex[1], hex[1], hex[2], hex[2]})
	}
	for i := range rgb {
		v, err := strconv.ParseUint(hex[2*i:2*i+2], 16, 8)
		if err != nil {
			return rgb, false
		}
		rgb[i] = float64(v) / 255
	}
	return rgb, true
}

// luminance is the WCAG 2.x relative luminance of an sRGB colour.
func luminance(rgb [3]float64) float64 {
	var lin [3]float64
	for i, c := range rgb {
		if c <= 0.04045 {
			lin[i] = c / 12.92
		} else {
			lin[i] = math.Pow((c+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*lin[0] + 0.7152*lin[1] + 0.0722*lin[2]
}

// contrast is the WCAG contrast ratio of two relative luminances.
func contrast(l1, l2 float64) float64 {
	if l1 < l2 {
		l1, l2 = l2, l1
	}
	return (l1 + 0.05) / (l2 + 0.05)
}

// formFields lists the form's fields in page order: the error summary lists
// errors in this order, so it reads like the form.
var formFields = []string{
	"promotion_code", "name", "email", "country", "postal_code", "region",
	"method", "card_number", "card_exp", "card_cvc", "installments", "network", "phone", "otp",
}

// fieldState is what a template needs to mark one input: its id (equal to
// its name, except for the method radios), its error message, if any, and
// the catalog key of its label ("" for a field the page does not show).
type fieldState struct {
	ID       string
	Error    string
	LabelKey string
	// Label is the label itself, for a custom field (the site's words).
	Label string
}

// fieldOf returns the state of the form field name on page p.
func fieldOf(p *Page, name string) fieldState {
	f := fieldState{ID: name, Error: p.FieldErrors[name]}
	switch {
	case name == "method":
		f.ID = "method-" + selectedMethod(p)
		f.LabelKey = "method.legend"
	case name == "installments":
		f.ID = fmt.Sprintf("installments-%d", max(p.InstallmentCount, 1))
		f.LabelKey = "installments.legend"
	case slices.Contains(formFields, name):
		f.LabelKey = "field." + name
	default:
		for _, cf := range p.CustomFields {
			if cf.Name == name {
				f.Label = cf.Label
			}
		}
	}
	return f
}

// errorList returns the field errors of p in form order (fields the page
// does not know come last, sorted), for the summary's links.
func errorList(p *Page) []fieldState {
	if len(p.FieldErrors) == 0 {
		return nil
	}
	out := make([]fieldState, 0, len(p.FieldErrors))
	known := make(map[string]bool, len(formFields))
	for _, name := range formFields {
		known[name] = true
		if p.FieldErrors[name] != "" {
			out = append(out, fieldOf(p, name))
		}
	}
	var other []string
	for name, msg := range p.FieldErrors {
		if !known[name] && msg != "" {
			other = append(other, name)
		}
	}
	sort.Strings(other)
	for _, name := range other {
		out = append(out, fieldOf(p, name))
	}
	return out
}

// selectedMethod is the method to show as chosen: p.Method when it is
// enabled, else the first enabled one.
func selectedMethod(p *Page) string {
	if hasMethod(p, p.Method) {
		return p.Method
	}
	if len(p.Methods) > 0 {
		return p.Methods[0]
	}
	return ""
}

// hasMethod reports whether method m is enabled on page p.
func hasMethod(p *Page, m string) bool {
	return m != "" && slices.Contains(p.Methods, m)
}

// pageURL is the session page's own URL, derived from the form action
// (".../checkout/{id}/pay"), or "" when that is not its shape. The
// processing page refreshes to it, so a page rendered in answer to a POST
// does not reload the POST URL.
func pageURL(p *Page) string {
	u, ok := strings.CutSuffix(p.PayURL, "/pay")
	if !ok || u == "" {
		return ""
	}
	return u
}

// quoteURL is where the script asks for totals after a country change
// (".../checkout/{id}/quote"), or "" when the page URL is unknown.
func quoteURL(p *Page) string {
	if u := pageURL(p); u != "" {
		return u + "/quote"
	}
	return ""
}

// countryOptions writes the country <option>s: some 250 of them, which as
// template actions were most of a page view's CPU. Names are escaped here;
// codes are ISO letters, which need no quotes (and 250 pairs of quotes and
// newlines are 750 bytes of the page's budget).
func countryOptions(list []CountryOption, selected string) template.HTML {
	var b strings.Builder
	b.Grow(len(list) * 40)
	for _, c := range list {
		b.WriteString("<option value=")
		b.WriteString(htmlesc.EscapeString(c.Code))
		if c.Selected || (selected != "" && c.Code == selected) {
			b.WriteString(" selected")
		}
		b.WriteByte('>')
		b.WriteString(htmlesc.EscapeString(c.Name))
		b.WriteString("</option>")
	}
	return template.HTML(b.String())
}

// initial is the first letter of name, upper-cased: what an item without
// a picture shows in its place.
func initial(name string) string {
	for _, r := range strings.TrimSpace(name) {
		return strings.ToUpper(string(r))
	}
	return ""
}

// backLink is a way back to the merchant (a success or cancel URL): a link,
// or, for a session whose return method is post, a form that posts the
// return fields there.
type backLink struct {
	URL, ID, Label, Class string
	Post                  *ReturnPost
}

// backOf is the way back to url from page p, drawn as the element id with
// the CSS class (a plain link when "").
func backOf(p *Page, url, id, label, class string) backLink {
	return backLink{URL: url, ID: id, Label: label, Class: class, Post: p.ReturnPost}
}

package dashboard

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// The templates, stylesheet and script are compiled into the binary: a
// page makes no other request, and a deploy cannot ship mismatched files.
//
//go:embed templates
var templateFS embed.FS

// views are the page templates; each defines "title" and "content" for
// layout.html.
var views = []string{"login", "checkouts", "checkout", "new", "orgs", "account", "sites", "site", "error", "keys", "webhooks", "webhook", "events", "event", "overview", "team", "invite", "login_code", "twofactor", "audit",
	"catalog_products", "catalog_product", "catalog_customers", "catalog_customer", "catalog_discounts",
	"subscriptions", "subscription", "invoices", "invoice"}

// renderer holds the parsed templates per language and time zone (the
// "when" functions show times in the zone), each view parsed on its first
// use in them. Every view is parsed at start, which checks them all, and
// then dropped: kept, the views of both languages were 5.6 MB of
// admin-api's live heap, which the collector lets grow by GOGC (200 %)
// before it runs, so 17 MB of its peak (issue 12, admin-api's peak RSS), in
// a process that mostly serves the API. At most maxViewSets languages and
// zones are kept, so that users' many zones cannot grow it without bound.
type renderer struct {
	css, js, layout string
	mu              sync.Mutex
	sets            map[string]*viewSet // lang + "|" + zone
}

// viewSet is the views of one language and zone parsed so far.
type viewSet struct {
	base  *template.Template // the layout with the set's functions; cloned, never executed
	views map[string]*template.Template
}

// maxViewSets bounds the languages and zones whose views are kept; past it
// the sets are dropped and parsed again as they are used.
const maxViewSets = 16

func newRenderer() (*renderer, error) {
	read := func(name string) (string, error) {
		b, err := templateFS.ReadFile("templates/" + name)
		if err != nil {
			return "", fmt.Errorf("dashboard: read %s: %w", name, err)
		}
		return string(b), nil
	}
	r := &renderer{sets: map[string]*viewSet{}}
	var err error
	if r.css, err = read("style.css"); err != nil {
		return nil, err
	}
	if r.js, err = read("script.js"); err != nil {
		return nil, err
	}
	if r.layout, err = read("layout.html"); err != nil {
		return nil, err
	}
	for lang := range catalogs {
		for _, name := range views {
			if _, err := r.view(lang, time.UTC, name); err != nil {
				return nil, err
			}
		}
	}
	clear(r.sets)
	return r, nil
}

// view returns the template of the view name in lang and loc, parsing it
// on first use.
func (r *renderer) view(lang string, loc *time.Location, name string) (*template.Template, error) {
	key := lang + "|" + loc.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	set, ok := r.sets[key]
	if !ok {
		if len(r.sets) >= maxViewSets {
			clear(r.sets)
		}
		base, err := template.New("layout.html").Funcs(r.funcs(lang, loc)).Parse(r.layout)
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse layout: %w", err)
		}
		set = &viewSet{base: base, views: map[string]*template.Template{}}
		r.sets[key] = set
	}
	if v, ok := set.views[name]; ok {
		return v, nil
	}
	if !slices.Contains(views, name) {
		return nil, fmt.Errorf("dashboard: no view %q", name)
	}
	b, err := templateFS.ReadFile("templates/" + name + ".html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: read %s: %w", name, err)
	}
	v, err := set.base.Clone()
	if err != nil {
		return nil, err
	}
	if _, err := v.Parse(string(b)); err != nil {
		return nil, fmt.Errorf("dashboard: parse %s: %w", name, err)
	}
	set.views[name] = v
	return v, nil
}

// funcs are the template functions of lang and loc.
func (r *renderer) funcs(lang string, loc *time.Location) template.FuncMap {
	tr := translator(lang)
	return template.FuncMap{
		"t":          tr.T,
		"css":        func() template.CSS { return template.CSS(r.css) },
		"js":         func() template.JS { return template.JS(r.js) },
		"money":      func(amount int64, code string) string { return formatMoney(amount, code, lang) },
		"when":       func(ts *timestamppb.Timestamp) string { return formatTime(ts, lang, loc) },
		"pct":        func(paid, created int64) string { return conversion(paid, created, lang) },
		"whenTime":   func(t time.Time) string { return formatTime(timestamppb.New(t), lang, loc) },
		"zone":       loc.String,
		"qr":         qrSVG,
		"mode":       auditMode,
		"add":        func(a, b int) int { return a + b },
		"sub":        func(a, b int64) int64 { return a - b },
		"mul":        func(a, b int64) int64 { return a * b },
		"status":     statusKey,
		"billing":    billingBadge,
		"refundable": refundable,
		"reasons":    func() []string { return refundReasons },
		"eventTypes": eventTypes,
		"has":        func(list []string, s string) bool { return slices.Contains(list, s) },
		"join":       strings.Join,
		"ferr":       func(m map[string]string, id string) formError { return formError{ID: id, Message: m[id]} },
	}
}

// page is what every template gets.
type page struct {
	Lang  string
	Nonce string
	// Path is the page's own path and query, for the language switch.
	Path string
	// User is nil on the sign-in and error pages of signed-out visitors.
	User *pageUser
	// Nav is the header link that is the current page.
	Nav  string
	Data any
}

// pageUser is the signed-in user as the header shows them.
type pageUser struct {
	Email, Role, Org string
	Livemode         bool
	CSRF             string
	// CanCreate shows the Create checkout link, CanDevelop the Developers
	// link; MultiOrg the switch.
	CanCreate, CanDevelop, MultiOrg bool
	// CanTeam shows the Team link.
	CanTeam bool
}

func newPageUser(v *visit) *pageUser {
	if v == nil {
		return nil
	}
	return &pageUser{Email: v.email, Role: string(v.role), Org: v.orgName, Livemode: v.livemode, CSRF: v.csrf,
		CanCreate:  Allowed(v.role, ActionCreateCheckout),
		CanDevelop: Allowed(v.role, ActionManageKeys), MultiOrg: v.multiOrg, CanTeam: Allowed(v.role, ActionManageTeam)}
}

// render writes the view with status, after the security headers: a strict
// CSP whose only script and style are this response's nonce'd ones, no
// framing, and no caching (every page shows account data or a form token).
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, view string, v *visit, nav string, data any) {
	h.renderPage(w, r, status, view, v, nav, data, "")
}

// renderPage is render whose CSP also lets img load from img, one CSP
// source the caller has checked (the site form's logo), when not empty.
func (h *Handler) renderPage(w http.ResponseWriter, r *http.Request, status int, view string, v *visit, nav string, data any, img string) {
	p := &page{Lang: pageLang(r), Nonce: newToken()[:22], Path: r.URL.RequestURI(), User: newPageUser(v), Nav: nav, Data: data}
	var buf bytes.Buffer
	t, err := h.pages.view(p.Lang, v.location(), view)
	if err == nil {
		err = t.Execute(&buf, p)
	}
	if err != nil {
		h.Logger.ErrorContext(r.Context(), "dashboard: render", "view", view, "err", err)
		http.Error(w, "An internal error occurred.", http.StatusInternalServerError)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+p.Nonce+"'; script-src 'nonce-"+p.Nonce+
		"'; img-src 'self' data:"+imgSource(img)+"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	if h.Secure {
		hdr.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func imgSource(img string) string {
	if img == "" {
		return ""
	}
	return " " + img
}

// errorPage answers status with a page that says what it means.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, v *visit, status int) {
	h.render(w, r, status, "error", v, "", status)
}

// fail answers an error of the API: its not-found with the 404 page (another
// organization's, the other mode's or no such object), an outage (the
// database or a service down: grpcx.Unavailable) with the 503 page and
// Retry-After, anything else logged and with 500.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	if isNotFound(err) {
		// Another organization's, the other mode's, or no such object.
		h.errorPage(w, r, v, http.StatusNotFound)
		return
	}
	if grpcx.Unavailable(err) && r.Context().Err() == nil {
		h.Logger.WarnContext(r.Context(), "dashboard: a dependency is unavailable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", httpx.RetryAfter)
		h.errorPage(w, r, v, http.StatusServiceUnavailable)
		return
	}
	h.Logger.ErrorContext(r.Context(), "dashboard", "path", r.URL.Path, "err", err)
	h.errorPage(w, r, v, http.StatusInternalServerError)
}

// formatMoney renders minor units of code for people; an unknown code (it
// cannot be stored) falls back to the bare number.
func formatMoney(amount int64, code, lang string) string {
	c, err := money.ParseCurrency(code)
	if err != nil {
		return strconv.FormatInt(amount, 10) + " " + code
	}
	return money.Format(amount, c, language.Make(lang))
}

// formatTime shows a timestamp in loc (the user's time zone), to the
// minute, with the zone's abbreviation (or UTC offset) so that it is never
// ambiguous.
func formatTime(ts *timestamppb.Timestamp, lang string, loc *time.Location) string {
	if ts == nil {
		return ""
	}
	t := ts.AsTime().In(loc)
	if lang == "fr" {
		return t.Format("02/01/2006 15:04 MST")
	}
	return t.Format("2006-01-02 15:04 MST")
}

// statusKey is the catalog key of a session's status badge.
func statusKey(status, paymentStatus string) string {
	if status == "complete" && paymentStatus == "paid" {
		return "paid"
	}
	return status
}

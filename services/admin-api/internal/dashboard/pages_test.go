package dashboard_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// TestSecurityHeaders: every page has a strict CSP whose nonce is on its
// only style and script, refuses framing, and is not cached.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login(e.users["owner"])
	cs := e.createSession(e.orgA, e.siteA, false, "")
	for _, path := range []string{"/dashboard/login", "/dashboard/checkouts", "/dashboard/checkouts/" + cs.GetId(), "/dashboard/checkouts/new", "/dashboard/audit", "/dashboard/nope"} {
		c := b.c
		if path == "/dashboard/login" {
			c = e.browser().c
		}
		resp, err := c.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _, body := read(t, resp)
		csp := resp.Header.Get("Content-Security-Policy")
		m := regexp.MustCompile(`script-src 'nonce-([A-Za-z0-9_-]+)'`).FindStringSubmatch(csp)
		if m == nil || !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "style-src 'nonce-"+m[1]+"'") || !strings.Contains(csp, "form-action 'self'") {
			t.Errorf("%s: CSP %q", path, csp)
			continue
		}
		if n := strings.Count(body, "<script"); n != 1 || strings.Count(body, `<script nonce="`+m[1]+`">`) != 1 {
			t.Errorf("%s: scripts without the nonce", path)
		}
		if strings.Count(body, `<style nonce="`+m[1]+`">`) != 1 || strings.Contains(body, " style=") {
			t.Errorf("%s: styles without the nonce", path)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: Cache-Control %q, X-Frame-Options %q", path, resp.Header.Get("Cache-Control"), resp.Header.Get("X-Frame-Options"))
		}
	}
	// A signed-out visitor is sent to sign in, and back afterwards.
	out := e.browser()
	if s, loc, _ := out.get("/dashboard/checkouts/" + cs.GetId()); s != http.StatusSeeOther || loc != "/dashboard/login?next="+url.QueryEscape("/dashboard/checkouts/"+cs.GetId()) {
		t.Errorf("signed out: %d %s", s, loc)
	}
	for next, want := range map[string]string{"/dashboard/checkouts/" + cs.GetId(): "/dashboard/checkouts/" + cs.GetId(),
		"https://evil.example/": "/dashboard/overview", "//evil.example/dashboard/": "/dashboard/overview"} {
		out := e.browser()
		_, _, page := out.get("/dashboard/login?next=" + url.QueryEscape(next))
		if !strings.Contains(page, `name="next" value="`+strings.ReplaceAll(next, "/", "&#47;")) && !strings.Contains(page, `name="next" value="`+next) {
			t.Errorf("the sign-in form lost next=%s", next)
		}
		_, loc, _ := out.post("/dashboard/login", url.Values{"csrf_token": {token(t, page)}, "email": {e.users["owner"]}, "password": {password}, "next": {next}})
		if loc != want {
			t.Errorf("next=%s: went to %s, want %s", next, loc, want)
		}
	}
}

// TestCreateCheckout: the form works without JavaScript (rows are added
// and removed by the server), converts prices exactly, names the field of
// each problem, and goes through the API (its validation, its idempotency).
func TestCreateCheckout(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["support"])

	f := e.createForm(csrf, e.siteA)
	f.Set("op", "add")
	_, _, page := b.post("/dashboard/checkouts/new", f)
	if n := strings.Count(page, `name="item_name"`); n != 3 {
		t.Errorf("after add: %d rows, want 3", n)
	}
	f.Set("op", "remove:0")
	_, _, page = b.post("/dashboard/checkouts/new", f)
	if n := strings.Count(page, `name="item_name"`); n != 1 || !strings.Contains(page, `value="Travel"`) || strings.Contains(page, `value="Consulting"`) {
		t.Errorf("after removing row 0 of 2: %d rows\n%s", n, page)
	}

	for name, c := range map[string]struct {
		field, value, errorFor string
	}{
		"too many decimals": {"item_price", "120.505", "item_price_0"},
		"no name":           {"item_name", "", "item_name_0"},
		"bad quantity":      {"item_qty", "two", "item_qty_0"},
		"bad currency":      {"currency", "EURO", "currency"},
		"bad email (API)":   {"customer_email", "not-an-email", "customer_email"},
		"bad expiry (API)":  {"expires_in_hours", "1000", "expires_in_hours"},
		"bad metadata":      {"metadata", "no equals sign", "metadata"},
	} {
		f := e.createForm(csrf, e.siteA)
		f.Set("idempotency_key", name)
		f[c.field] = append([]string{c.value}, f[c.field][1:]...)
		if c.field != "item_name" && c.field != "item_price" && c.field != "item_qty" {
			f.Set(c.field, c.value)
		}
		s, _, page := b.post("/dashboard/checkouts/new", f)
		if s != http.StatusBadRequest || !strings.Contains(page, `href="#`+c.errorFor+`"`) || !strings.Contains(page, `id="`+c.errorFor+`" `) ||
			!regexp.MustCompile(`id="`+c.errorFor+`"[^>]*aria-invalid="true"`).MatchString(page) {
			t.Errorf("%s: %d, want 400 with an error on %s", name, s, c.errorFor)
		}
	}

	f = e.createForm(csrf, e.siteA)
	s, loc, page := b.post("/dashboard/checkouts/new", f)
	if s != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/checkouts/cs_") {
		t.Fatalf("create: %d %s\n%s", s, loc, page)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/dashboard/checkouts/"), "?notice=created")
	// A double submit (same form, same idempotency key) is the same session.
	if _, again, _ := b.post("/dashboard/checkouts/new", f); again != loc {
		t.Errorf("the second submit went to %s, want %s", again, loc)
	}
	var total, subtotal int64
	var count int
	ctx := context.Background()
	if err := e.pool.QueryRow(ctx, `SELECT amount_total, amount_subtotal, (SELECT count(*) FROM admin.checkout_sessions) FROM admin.checkout_sessions WHERE id = $1`, id).Scan(&total, &subtotal, &count); err != nil {
		t.Fatal(err)
	}
	if subtotal != 2*12050+3500 || count != 1 {
		t.Errorf("subtotal %d (want %d), %d sessions (want 1)", subtotal, 2*12050+3500, count)
	}
	// The API's idempotency interceptor recorded the form's key: the
	// create went through the API's interceptor chain.
	var recorded int
	_ = e.pool.QueryRow(ctx, `SELECT count(*) FROM admin.idempotency_keys WHERE organization_id = $1 AND key = $2 AND response_code IS NOT NULL`,
		e.orgA, f.Get("idempotency_key")).Scan(&recorded)
	if recorded != 1 {
		t.Error("the form's create did not go through the API's idempotency interceptor")
	}

	// A site without default URLs needs them on the form; the API's error
	// lands on the field.
	bare, err := adminv1.NewSiteServiceClient(e.conn.Inline).CreateSite(e.as(e.orgA, false), &adminv1.CreateSiteRequest{
		Name: "No URLs", DefaultCurrency: "EUR", PaymentMethodTypes: []string{"card"}})
	if err != nil {
		t.Fatal(err)
	}
	f = e.createForm(csrf, bare.GetSite().GetId())
	f.Set("success_url", "https://shop.example/thanks")
	f.Set("idempotency_key", "without-cancel")
	if s, _, page := b.post("/dashboard/checkouts/new", f); s != http.StatusBadRequest || !strings.Contains(page, `href="#cancel_url"`) {
		t.Errorf("no cancel URL anywhere: %d, want 400 naming cancel_url", s)
	}
	f.Set("cancel_url", "https://shop.example/cart")
	f.Set("idempotency_key", "with-cancel")
	if s, loc, page := b.post("/dashboard/checkouts/new", f); s != http.StatusSeeOther {
		t.Errorf("with a cancel URL: %d %s %s", s, loc, page[strings.Index(page, "<main"):])
	}

	_, _, detail := b.get(loc)
	contains(t, "the new session's page", detail, "https://secure.test/checkout/"+id, "<svg", `role="img"`, "Consulting", "Travel",
		"€276.00", "client@example.com", "INV-7", "The checkout was created.", `id="copy"`)
	_, _, list := b.get("/dashboard/checkouts")
	contains(t, "the list", list, id, "€276.00")
}

// TestCheckoutsList: newest first, cursor pages both ways, filters and
// search by each identifier.
func TestCheckoutsList(t *testing.T) {
	e := newEnv(t)
	var ids []string
	for i := range 30 {
		ids = append(ids, e.createSession(e.orgA, e.siteA, false, fmt.Sprintf("buyer%d@example.com", i)).GetId())
	}
	b := e.browser()
	b.login(e.users["viewer"])
	rows := regexp.MustCompile(`<tr id="row-(cs_[A-Za-z0-9]+)"`)
	idsOf := func(page string) []string {
		var out []string
		for _, m := range rows.FindAllStringSubmatch(page, -1) {
			out = append(out, m[1])
		}
		return out
	}
	link := regexp.MustCompile(`href="([^"]+)" rel="(prev|next)"`)
	links := func(page string) map[string]string {
		out := map[string]string{}
		for _, m := range link.FindAllStringSubmatch(page, -1) {
			out[m[2]] = strings.ReplaceAll(m[1], "&amp;", "&")
		}
		return out
	}
	_, _, first := b.get("/dashboard/checkouts")
	got := idsOf(first)
	if len(got) != 25 || got[0] != ids[29] || got[24] != ids[5] {
		t.Fatalf("first page: %d rows from %v", len(got), got)
	}
	l := links(first)
	if l["prev"] != "" || l["next"] == "" {
		t.Fatalf("first page links: %v", l)
	}
	_, _, second := b.get(l["next"])
	if got := idsOf(second); len(got) != 5 || got[0] != ids[4] || got[4] != ids[0] {
		t.Fatalf("second page: %v", got)
	}
	l = links(second)
	if l["next"] != "" || l["prev"] == "" {
		t.Fatalf("second page links: %v", l)
	}
	_, _, back := b.get(l["prev"])
	if got := idsOf(back); len(got) != 25 || got[0] != ids[29] {
		t.Errorf("back to the first page: %v", got)
	}

	var ref, orderless string
	_ = e.pool.QueryRow(context.Background(), `SELECT reference FROM admin.checkout_sessions WHERE id = $1`, ids[7]).Scan(&ref)
	orderless = ids[7]
	expired := ids[3]
	owner := e.browser()
	ownerCSRF := owner.login(e.users["owner"])
	owner.post("/dashboard/checkouts/"+expired+"/expire", url.Values{"csrf_token": {ownerCSRF}})
	for q, want := range map[string][]string{
		"q=" + url.QueryEscape(strings.ToLower(ref)):  {orderless},
		"q=BUYER12%40example.com":                     {ids[12]},
		"status=expired":                              {expired},
		"payment=paid":                                nil,
		"status=open&q=buyer3%40example.com":          nil,
		"site=" + e.siteA + "&q=buyer3%40example.com": {expired},
		"from=2000-01-01&to=2000-12-31":               nil,
		"q=ORD-none":                                  nil,
	} {
		_, _, page := b.get("/dashboard/checkouts?" + q)
		if got := idsOf(page); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", q, got, want)
		}
	}
	if s, loc, _ := b.get("/dashboard/checkouts?q=" + ids[9]); s != http.StatusSeeOther || loc != "/dashboard/checkouts/"+ids[9] {
		t.Errorf("searching a session id: %d %s", s, loc)
	}
	_, _, fr := b.get("/dashboard/checkouts?from=2000-01-01")
	if len(idsOf(fr)) != 25 {
		t.Errorf("from 2000: %d rows", len(idsOf(fr)))
	}
}

// TestFrench: the language switch and Accept-Language.
func TestFrench(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	req, _ := http.NewRequest("GET", e.url+"/dashboard/login", nil)
	req.Header.Set("Accept-Language", "fr-CA,fr;q=0.9")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _, page := read(t, resp)
	contains(t, "the French sign-in page", page, `lang="fr"`, "Mot de passe", "Se connecter")
	b.login(e.users["owner"])
	if s, loc, _ := b.get("/dashboard/lang?to=fr&back=%2Fdashboard%2Fcheckouts"); s != http.StatusSeeOther || loc != "/dashboard/checkouts" {
		t.Fatalf("lang switch: %d %s", s, loc)
	}
	_, _, list := b.get("/dashboard/checkouts")
	contains(t, "the French list", list, `lang="fr"`, "Paiements", "Mode test")
	if _, loc, _ := b.get("/dashboard/lang?to=en&back=https%3A%2F%2Fevil.example"); loc != "/dashboard/overview" {
		t.Errorf("lang switch back to another site: %s", loc)
	}
}

// TestExportCSV: the filtered set, every page of it, as CSV with exact
// decimal amounts, defused formulas, and nothing of another organization.
func TestExportCSV(t *testing.T) {
	e := newEnv(t)
	for i := range 130 {
		e.createSession(e.orgA, e.siteA, false, fmt.Sprintf("buyer%d@example.com", i%2))
	}
	e.createSession(e.orgB, e.siteB, false, "buyer0@example.com")
	sessions := adminv1.NewCheckoutSessionServiceClient(e.conn.Inline)
	formula, err := sessions.CreateCheckoutSession(e.as(e.orgA, false), &adminv1.CreateCheckoutSessionRequest{
		SiteId: e.siteA, Amount: proto.Int64(5), OrderId: "=HYPERLINK(\"https://evil.example\")", CustomerEmail: "buyer1@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login(e.users["viewer"])
	_, _, list := b.get("/dashboard/checkouts?q=buyer1%40example.com")
	m := regexp.MustCompile(`href="(/dashboard/checkouts/export\.csv\?[^"]*)"`).FindStringSubmatch(list)
	if m == nil {
		t.Fatal("no export link on the list")
	}
	resp, err := b.c.Get(e.url + strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, resp.Header.Get("Content-Disposition"))
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+65+1 || rows[0][0] != "id" || rows[0][9] != "amount_total" {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if seen[r[0]] || r[10] != "buyer1@example.com" {
			t.Errorf("row %v: repeated or outside the filter", r)
		}
		seen[r[0]] = true
	}
	first := rows[1] // newest first: the formula session
	if first[0] != formula.GetCheckoutSession().GetId() || first[9] != "0.05" || first[12] != `'=HYPERLINK("https://evil.example")` {
		t.Errorf("first row %v", first)
	}
	if rows[2][9] != "12.50" {
		t.Errorf("amount %q, want 12.50", rows[2][9])
	}
}

// TestCheckoutsAmountFilter: the amount range is decimals in the chosen
// currency, exact (bounds included), carried into the pages' links and the
// CSV export; what cannot be used is a 400 with the form saying which field
// and why, in the page's language.
func TestCheckoutsAmountFilter(t *testing.T) {
	e := newEnv(t)
	sessions := adminv1.NewCheckoutSessionServiceClient(e.conn.Inline)
	byAmount := map[string]string{}
	for _, s := range []struct {
		minor    int64
		currency string
	}{{999, "EUR"}, {1000, "EUR"}, {1250, "EUR"}, {1251, "EUR"}, {1000, "JPY"}} {
		resp, err := sessions.CreateCheckoutSession(e.as(e.orgA, false), &adminv1.CreateCheckoutSessionRequest{
			SiteId: e.siteA, Amount: proto.Int64(s.minor), Currency: s.currency})
		if err != nil {
			t.Fatal(err)
		}
		byAmount[fmt.Sprint(s.minor, s.currency)] = resp.GetCheckoutSession().GetId()
	}
	b := e.browser()
	b.login(e.users["viewer"])
	rows := regexp.MustCompile(`<tr id="row-(cs_[A-Za-z0-9]+)"`)
	for q, want := range map[string][]string{
		"currency=eur&amount_min=10&amount_max=12.50": {byAmount["1250EUR"], byAmount["1000EUR"]},
		"currency=EUR&amount_min=10,00":               {byAmount["1251EUR"], byAmount["1250EUR"], byAmount["1000EUR"]},
		"currency=EUR&amount_max=9.99":                {byAmount["999EUR"]},
		"currency=JPY&amount_min=1000":                {byAmount["1000JPY"]},
	} {
		status, _, page := b.get("/dashboard/checkouts?" + q)
		var got []string
		for _, m := range rows.FindAllStringSubmatch(page, -1) {
			got = append(got, m[1])
		}
		if status != http.StatusOK || strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %d %v, want %v", q, status, got, want)
		}
	}
	for q, field := range map[string]string{
		"amount_min=10":                               "currency",
		"currency=EURO&amount_min=10":                 "currency",
		"currency=EUR&amount_min=abc":                 "amount_min",
		"currency=EUR&amount_min=10.005":              "amount_min",
		"currency=JPY&amount_max=1.5":                 "amount_max",
		"currency=EUR&amount_min=20&amount_max=10.00": "amount_max",
	} {
		status, _, page := b.get("/dashboard/checkouts?" + q)
		if status != http.StatusBadRequest || !strings.Contains(page, `id="`+field+`" `) ||
			!regexp.MustCompile(`id="`+field+`" [^>]*aria-invalid="true"`).MatchString(page) ||
			!strings.Contains(page, `id="`+field+`-error"`) || rows.MatchString(page) {
			t.Errorf("%s: %d, want a 400 marking %s and no rows", q, status, field)
		}
	}
	b.get("/dashboard/lang?to=fr&back=%2Fdashboard%2Fcheckouts")
	_, _, fr := b.get("/dashboard/checkouts?currency=EUR&amount_min=1.234")
	contains(t, "the French amount error", fr, "au plus 2 décimales pour EUR", "Montant à partir de")

	// The export of the filtered set.
	_, _, list := b.get("/dashboard/checkouts?currency=EUR&amount_min=10&amount_max=12.50")
	m := regexp.MustCompile(`href="(/dashboard/checkouts/export\.csv\?[^"]*)"`).FindStringSubmatch(list)
	if m == nil || !strings.Contains(m[1], "amount_min=10") {
		t.Fatalf("export link %v", m)
	}
	resp, err := b.c.Get(e.url + strings.ReplaceAll(m[1], "&amp;", "&"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	csvRows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(csvRows) != 3 || csvRows[1][9] != "12.50" || csvRows[2][9] != "10.00" {
		t.Errorf("export %v", csvRows)
	}
	// A hand-made export link with a bad amount goes to the form.
	if s, loc, _ := b.get("/dashboard/checkouts/export.csv?currency=EUR&amount_min=x"); s != http.StatusSeeOther ||
		!strings.HasPrefix(loc, "/dashboard/checkouts?") || !strings.Contains(loc, "amount_min=x") {
		t.Errorf("bad export: %d %s", s, loc)
	}
}

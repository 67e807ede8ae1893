package dashboard_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/bootstrap"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/dashboard"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/provideracct"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/server"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/admin-api/migrations"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

func TestMain(m *testing.M) { os.Exit(testkit.Main(m)) }

// password is every test user's password.
const password = "correct horse battery staple"

// env is the dashboard on admin-api's real API and a fresh database, with
// organization A (a user per role, a test-mode and a live-mode site) and
// organization B (an owner and a site).
type env struct {
	t        *testing.T
	url      string
	pool     *pgxpool.Pool
	store    *store.Store
	conn     *server.API
	handler  *dashboard.Handler
	keys     *secretbox.Keyring
	orgA     string
	orgB     string
	siteA    string
	liveSite string
	siteB    string
	// users maps "role" (org A) and "ownerB" to emails.
	users map[string]string
}

func newEnv(t *testing.T, configure ...func(*dashboard.Handler)) *env {
	t.Helper()
	ctx := context.Background()
	pool := testkit.NewDatabase(t, migrations.Set)
	st := store.New(pool)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	batchCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = st.RunBatchers(batchCtx, logger) }()
	t.Cleanup(func() { stop(); <-done })
	spec, err := secretbox.Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := secretbox.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	api, err := server.New(ctx, st, logger, "https://secure.test", webhook.TargetPolicy{}, server.Peers{}, server.Guard{},
		server.Accounts{Keys: keys, Stripe: provideracct.Stripe{Base: "http://127.0.0.1:1"}, HooksBase: "https://webhook.test"})
	if err != nil {
		t.Fatal(err)
	}
	h := &dashboard.Handler{Store: st, Conn: api.Inline, Logger: logger, Keys: keys, LoginLimits: dashboard.NewLoginLimits()}
	for _, c := range configure {
		c(h)
	}
	if err := h.Init(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.WithDashboard(dashboard.Prefix, h))
	t.Cleanup(srv.Close)
	e := &env{t: t, url: srv.URL, pool: pool, store: st, conn: api, handler: h, keys: keys, users: map[string]string{}}

	orgA, err := bootstrap.CreateOrganization(ctx, st, "Org A")
	if err != nil {
		t.Fatal(err)
	}
	orgB, err := bootstrap.CreateOrganization(ctx, st, "Org B")
	if err != nil {
		t.Fatal(err)
	}
	e.orgA, e.orgB = orgA.ID, orgB.ID
	e.siteA, e.liveSite, e.siteB = e.createSite(e.orgA, false), e.createSite(e.orgA, true), e.createSite(e.orgB, false)
	for _, r := range dashboard.Roles {
		e.users[string(r)] = e.createUser(string(r)+"@a.example", e.orgA, r)
	}
	e.users["ownerB"] = e.createUser("owner@b.example", e.orgB, dashboard.RoleOwner)
	return e
}

func (e *env) createUser(email, org string, role dashboard.Role) string {
	e.t.Helper()
	if _, err := dashboard.SetUser(context.Background(), e.store, email, org, role, password); err != nil {
		e.t.Fatal(err)
	}
	return email
}

// as is a context for calling the API directly as org in a mode.
func (e *env) as(org string, live bool) context.Context {
	return auth.AsUser(context.Background(), auth.Principal{OrganizationID: org, Livemode: live, UserID: "usr_test"})
}

func (e *env) createSite(org string, live bool) string {
	e.t.Helper()
	resp, err := adminv1.NewSiteServiceClient(e.conn.Inline).CreateSite(e.as(org, live), &adminv1.CreateSiteRequest{
		Name: "Shop " + org, DefaultCurrency: "EUR", DefaultSuccessUrl: "https://shop.example/ok",
		DefaultCancelUrl: "https://shop.example/cart", PaymentMethodTypes: []string{"card"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetSite().GetId()
}

// createSession makes a session through the API, as a merchant's server would.
func (e *env) createSession(org, site string, live bool, email string) *adminv1.CheckoutSession {
	e.t.Helper()
	resp, err := adminv1.NewCheckoutSessionServiceClient(e.conn.Inline).CreateCheckoutSession(e.as(org, live), &adminv1.CreateCheckoutSessionRequest{
		SiteId: site, Amount: proto.Int64(1250), CustomerEmail: email,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetCheckoutSession()
}

// browser is a client with its own cookies that does not follow redirects.
type browser struct {
	e *env
	c *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// get fetches path and returns the status, Location and body.
func (b *browser) get(path string) (int, string, string) {
	b.e.t.Helper()
	resp, err := b.c.Get(b.e.url + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return read(b.e.t, resp)
}

func (b *browser) post(path string, form url.Values) (int, string, string) {
	b.e.t.Helper()
	resp, err := b.c.PostForm(b.e.url+path, form)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return read(b.e.t, resp)
}

func read(t *testing.T, resp *http.Response) (int, string, string) {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(body)
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token is the first CSRF token in a page.
func token(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token in page:\n%s", page)
	}
	return m[1]
}

// tryLogin posts the sign-in form with the token of a fresh sign-in page.
func (b *browser) tryLogin(email, pw string) (int, string, string) {
	b.e.t.Helper()
	_, _, page := b.get("/dashboard/login")
	return b.post("/dashboard/login", url.Values{"csrf_token": {token(b.e.t, page)}, "email": {email}, "password": {pw}})
}

// login signs in and returns the CSRF token of the signed-in session.
func (b *browser) login(email string) string {
	b.e.t.Helper()
	status, loc, body := b.tryLogin(email, password)
	if status != http.StatusSeeOther || loc != "/dashboard/checkouts" {
		b.e.t.Fatalf("login %s: %d %q %s", email, status, loc, body)
	}
	return b.csrf()
}

// csrf is the CSRF token of the current session, from the Checkouts page.
func (b *browser) csrf() string {
	b.e.t.Helper()
	status, _, page := b.get("/dashboard/checkouts")
	if status != http.StatusOK {
		b.e.t.Fatalf("checkouts: %d", status)
	}
	return token(b.e.t, page)
}

// sessionCookie is the browser's dashboard session cookie value.
func (b *browser) sessionCookie() string {
	u, _ := url.Parse(b.e.url)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "tp_dash" {
			return c.Value
		}
	}
	return ""
}

// createForm is a valid Create checkout form.
func (e *env) createForm(csrf, site string) url.Values {
	return url.Values{"csrf_token": {csrf}, "op": {"create"}, "site": {site}, "currency": {""},
		"item_name": {"Consulting", "Travel"}, "item_price": {"120.50", "35"}, "item_qty": {"2", "1"},
		"customer_email": {"client@example.com"}, "expires_in_hours": {"48"}, "order_id": {""},
		"metadata": {"invoice=INV-7\nteam = ops"}, "idempotency_key": {"k-" + csrf[:8]}}
}

func contains(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

// createKey makes an API key through the API and returns its id.
func (e *env) createKey(org string, live bool, name string) string {
	e.t.Helper()
	resp, err := adminv1.NewApiKeyServiceClient(e.conn.Inline).CreateApiKey(e.as(org, live), &adminv1.CreateApiKeyRequest{Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetApiKey().GetId()
}

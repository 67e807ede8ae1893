package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// These tests run the page's real handler (Routes) against admin-api's
// gRPC interface: a client of a server that is not running, one that hangs,
// or a small server holding fixed sessions. The page's own store is never
// reached in them: each answer they check is given before it would be.

// adminServer serves GetCheckout from a fixed set of sessions; with hang set
// it answers nothing until the caller gives up.
type adminServer struct {
	internalapiv1.UnimplementedSessionServiceServer
	sessions map[string]*internalapiv1.GetCheckoutResponse
	// tokens maps secure tokens to session ids.
	tokens map[string]string
	hang   bool
	mu     sync.Mutex
	asked  []string // the ids GetCheckout was asked for
	// changes are the UpdateLineItemQuantity calls; changeErr, when set,
	// is their answer.
	changes   []*internalapiv1.UpdateLineItemQuantityRequest
	changeErr error
}

// CompleteSession completes the session as admin-api does: status complete,
// paid or not, with the payment; later GetCheckout calls see it.
func (s *adminServer) CompleteSession(_ context.Context, r *internalapiv1.CompleteSessionRequest) (*internalapiv1.CompleteSessionResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	co, ok := s.sessions[r.GetSessionId()]
	if !ok {
		return nil, status.Error(codes.NotFound, "No such checkout session.")
	}
	done := proto.Clone(co).(*internalapiv1.GetCheckoutResponse)
	done.CheckoutSession.Status, done.CheckoutSession.Payment = "complete", proto.String(r.GetPaymentId())
	if r.GetPaid() {
		done.CheckoutSession.PaymentStatus = "paid"
	}
	s.sessions[r.GetSessionId()] = done
	return &internalapiv1.CompleteSessionResponse{CheckoutSession: done.CheckoutSession}, nil
}

func (s *adminServer) UpdateLineItemQuantity(ctx context.Context, r *internalapiv1.UpdateLineItemQuantityRequest) (*internalapiv1.UpdateLineItemQuantityResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, r)
	if s.changeErr != nil {
		return nil, s.changeErr
	}
	return &internalapiv1.UpdateLineItemQuantityResponse{CheckoutSession: s.sessions[r.GetSessionId()].GetCheckoutSession()}, nil
}

func (s *adminServer) ResolveSecureToken(ctx context.Context, r *internalapiv1.ResolveSecureTokenRequest) (*internalapiv1.ResolveSecureTokenResponse, error) {
	if s.hang {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	if id, ok := s.tokens[r.GetSecureToken()]; ok {
		return &internalapiv1.ResolveSecureTokenResponse{SessionId: id}, nil
	}
	return nil, status.Error(codes.NotFound, "No checkout session has this secure token.")
}

func (s *adminServer) GetCheckout(ctx context.Context, r *internalapiv1.GetCheckoutRequest) (*internalapiv1.GetCheckoutResponse, error) {
	if s.hang {
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, r.GetSessionId())
	if co, ok := s.sessions[r.GetSessionId()]; ok {
		return co, nil
	}
	return nil, status.Error(codes.NotFound, "No such checkout session.")
}

// adminClient returns a client of srv on a loopback port, or, when srv is
// nil, of a port where nothing listens (admin-api down).
func adminClient(t *testing.T, srv *adminServer) internalapiv1.SessionServiceClient {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if srv == nil {
		_ = l.Close()
	} else {
		g := grpc.NewServer()
		internalapiv1.RegisterSessionServiceServer(g, srv)
		go func() { _ = g.Serve(l) }()
		t.Cleanup(g.Stop)
	}
	cc, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return internalapiv1.NewSessionServiceClient(cc)
}

func newTestHandler(t *testing.T, admin internalapiv1.SessionServiceClient) (*Handler, http.Handler) {
	t.Helper()
	h := &Handler{Admin: admin, Logger: slog.New(slog.DiscardHandler), CSRFKey: []byte("test-csrf-key"), AdminTimeout: 100 * time.Millisecond}
	routes, err := h.Routes()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, routes
}

// pageRoutes are the session's routes, with their methods.
var pageRoutes = []struct{ method, suffix string }{
	{"GET", ""}, {"POST", "/pay"}, {"POST", "/challenge"}, {"GET", "/quote"}, {"POST", "/quantity"},
}

// do sends one request; form (if any) is posted, jsonAccept asks for JSON.
func do(routes http.Handler, method, target string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	var body *strings.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	} else {
		body = strings.NewReader("")
	}
	req := httptest.NewRequest(method, target, body)
	if method == "POST" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	routes.ServeHTTP(w, req)
	return w
}

// TestOddSessionIDsAreNotFound: an id that is not the shape of a session id
// (invalid UTF-8, a NUL, a slash, another prefix) gets the not-found page on
// every route, without a call to admin-api — which here is down, so any call
// would show as a 503 (and showed as a 500 before).
func TestOddSessionIDsAreNotFound(t *testing.T) {
	_, routes := newTestHandler(t, adminClient(t, nil))
	odd := []string{"%00", "%ff", "%c0%af", "cs_%00", "cs_%ff", "cs_", "cs_abc%2Fdef", "pay_" + ids.Random(24),
		"cs_" + ids.Random(24) + "%e2%80%8b", "cs_" + strings.Repeat("a", 65), "%ef%bf%bd"}
	for _, rt := range pageRoutes {
		for _, id := range odd {
			for _, accept := range []string{"text/html", "application/json"} {
				w := do(routes, rt.method, "/checkout/"+id+rt.suffix, url.Values{"name": {"x"}}, map[string]string{"Accept": accept})
				if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Page not found") {
					t.Errorf("%s /checkout/%s%s (%s): %d %.200q", rt.method, id, rt.suffix, accept, w.Code, w.Body.String())
				}
			}
		}
	}
}

// TestAdminDownIsTryAgain: with admin-api down (nothing listening) or hung
// (no answer within the timeout), every route answers 503 with Retry-After:
// a "try again" page in the payer's language, or JSON
// temporarily_unavailable. Before, they answered 500 "internal".
func TestAdminDownIsTryAgain(t *testing.T) {
	for name, admin := range map[string]*adminServer{"down": nil, "hung": {hang: true}} {
		t.Run(name, func(t *testing.T) {
			_, routes := newTestHandler(t, adminClient(t, admin))
			id := ids.New("cs")
			for _, rt := range pageRoutes {
				target := "/checkout/" + id + rt.suffix
				for _, lang := range []string{"en", "fr"} {
					w := do(routes, rt.method, target, url.Values{}, map[string]string{"Accept-Language": lang})
					want := map[string]string{"en": "Temporarily unavailable", "fr": "Service momentanément indisponible"}[lang]
					if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" ||
						!strings.Contains(w.Body.String(), want) || !strings.Contains(w.Body.String(), `href="/checkout/`+id+`"`) {
						t.Errorf("%s %s (%s): %d Retry-After %q %.300q", rt.method, target, lang, w.Code, w.Header().Get("Retry-After"), w.Body.String())
					}
				}
				w := do(routes, rt.method, target, url.Values{}, map[string]string{"Accept": "application/json"})
				var body struct {
					Status string
					Error  struct{ Code, Message string }
				}
				_ = json.Unmarshal(w.Body.Bytes(), &body)
				if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" ||
					body.Status != "error" || body.Error.Code != "temporarily_unavailable" || body.Error.Message == "" {
					t.Errorf("%s %s (JSON): %d %s", rt.method, target, w.Code, w.Body.String())
				}
			}
		})
	}
}

// liveCheckout is an open live-mode session offering the given methods.
func liveCheckout(id string, methods ...string) *internalapiv1.GetCheckoutResponse {
	return &internalapiv1.GetCheckoutResponse{OrganizationId: "org_1",
		Site: &adminv1.Site{Id: "site_1", Name: "Shop", Livemode: true},
		CheckoutSession: &adminv1.CheckoutSession{Id: id, Status: "open", PaymentStatus: "unpaid", Livemode: true, Currency: "EUR",
			AmountSubtotal: 1000, AmountTotal: 1000, Amount: 1000, PaymentMethodTypes: methods,
			LineItems: []*adminv1.LineItem{{Name: "Tea", UnitAmount: 1000, Quantity: 1, AmountTotal: 1000}}}}
}

// signedForm returns a billing form with a valid CSRF token for the session,
// and the cookie header that goes with it.
func signedForm(h *Handler, id string, extra url.Values) (url.Values, map[string]string) {
	cookie := strings.Repeat("c", 24)
	f := url.Values{"csrf_token": {h.sign(cookie, id)}, "name": {"Ada Lovelace"}, "email": {"ada@example.com"},
		"country": {"FR"}, "postal_code": {"75001"}, "method": {"bank_transfer"}, "action": {"pay"}}
	for k, v := range extra {
		f[k] = v
	}
	return f, map[string]string{"Cookie": csrfCookie + "=" + cookie}
}

// TestLivePayRefusesCardFields: a card field posted to a live session's page
// is refused (400 naming it) before anything reads it, with or without a
// valid CSRF token, and whatever the method says.
func TestLivePayRefusesCardFields(t *testing.T) {
	id := ids.New("cs")
	h, routes := newTestHandler(t, adminClient(t, &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{
		id: liveCheckout(id, "card", "bank_transfer")}}))
	for _, field := range cardFields {
		for _, method := range []string{"card", "bank_transfer"} {
			form, hdr := signedForm(h, id, url.Values{field: {"4242424242424242"}, "method": {method}})
			hdr["Accept"] = "application/json"
			w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
			var body struct {
				Error struct{ Code, Param, Message string }
			}
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != http.StatusBadRequest || body.Error.Param != field || body.Error.Code != "card_entry_not_available" {
				t.Errorf("%s (method %s): %d %s", field, method, w.Code, w.Body.String())
			}
			if strings.Contains(w.Body.String(), "4242") {
				t.Errorf("the refusal repeats the value: %s", w.Body.String())
			}
			delete(hdr, "Accept")
			w = do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
			page := w.Body.String()
			if w.Code != http.StatusBadRequest || !strings.Contains(page, "Card details cannot be entered on this page") ||
				strings.Contains(page, `name="card_number"`) || strings.Contains(page, "4242") {
				t.Errorf("%s (HTML): %d %.300q", field, w.Code, page)
			}
		}
	}
	// A card method without card fields is not a method of the live page.
	form, hdr := signedForm(h, id, url.Values{"method": {"card"}})
	hdr["Accept"] = "application/json"
	if w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `"param":"method"`) {
		t.Errorf("method card in live mode: %d %s", w.Code, w.Body.String())
	}
}

// TestPayFormRefusesUnstorableText: invalid UTF-8 or a NUL in a form field
// is a 400 naming the field (before, a billing name reached PostgreSQL and
// answered 500).
func TestPayFormRefusesUnstorableText(t *testing.T) {
	id := ids.New("cs")
	h, routes := newTestHandler(t, adminClient(t, &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{
		id: liveCheckout(id, "bank_transfer")}}))
	for _, field := range []string{"name", "email", "country", "postal_code", "region", "method"} {
		for _, bad := range []string{"\xff", "Ada\x00Lovelace", "\xc0\xaf"} {
			form, hdr := signedForm(h, id, url.Values{field: {bad}})
			hdr["Accept"] = "application/json"
			w := do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
			var body struct{ Error struct{ Param string } }
			_ = json.Unmarshal(w.Body.Bytes(), &body)
			if w.Code != http.StatusBadRequest || body.Error.Param != field {
				t.Errorf("%s=%q: %d %s", field, bad, w.Code, w.Body.String())
			}
		}
	}
	// A challenge for a payment id that is not one is no such payment.
	for _, bad := range []string{"\xff", "pay_\x00", "", "cs_abc"} {
		form, hdr := signedForm(h, id, url.Values{"payment_id": {bad}, "decision": {"approve"}})
		hdr["Accept"] = "application/json"
		if w := do(routes, "POST", "/checkout/"+id+"/challenge", form, hdr); w.Code != http.StatusNotFound {
			t.Errorf("challenge payment_id=%q: %d %s", bad, w.Code, w.Body.String())
		}
	}
}

// TestLivePageHasNoCardInputs: a live session's form offers only the methods
// that work live (bank transfer), and says so when none does.
func TestLivePageHasNoCardInputs(t *testing.T) {
	h, _ := newTestHandler(t, adminClient(t, nil))
	render := func(co *internalapiv1.GetCheckoutResponse) string {
		req := httptest.NewRequest("GET", "/checkout/"+co.GetCheckoutSession().GetId(), nil)
		p := h.basePage(httptest.NewRecorder(), req, co)
		h.fillQuote(p, co)
		page, err := h.render.bytes(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(page)
	}
	page := render(liveCheckout(ids.New("cs"), "card", "bank_transfer"))
	for _, s := range []string{`name="card_number"`, `name="card_exp"`, `name="card_cvc"`, `value="card"`, `autocomplete="cc-`} {
		if strings.Contains(page, s) {
			t.Errorf("live page contains %q", s)
		}
	}
	if !strings.Contains(page, `<input type="hidden" name="method" value="bank_transfer">`) || !strings.Contains(page, `id="bank-fields"`) {
		t.Errorf("live page does not offer bank transfer")
	}
	page = render(liveCheckout(ids.New("cs"), "card"))
	if strings.Contains(page, `id="pay-form"`) || strings.Contains(page, `name="card_number"`) ||
		!strings.Contains(page, "Payment is not yet available for this checkout") {
		t.Errorf("live card-only page: %s", page)
	}
	// Test mode keeps the card form.
	test := liveCheckout(ids.New("cs"), "card", "bank_transfer")
	test.CheckoutSession.Livemode = false
	if page := render(test); !strings.Contains(page, `name="card_number"`) {
		t.Errorf("test page lost its card inputs")
	}
}

// TestDatabaseDownIsTryAgain: the session loads but the page's own database
// is unreachable: the page is the try-again page, and a payment attempt is
// answered with the form again (what the payer entered kept) and a message
// to try again — 503 with Retry-After, not 500.
func TestDatabaseDownIsTryAgain(t *testing.T) {
	id := ids.New("cs")
	co := liveCheckout(id, "bank_transfer")
	h, routes := newTestHandler(t, adminClient(t, &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{id: co}}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	pool, err := pgxpool.New(context.Background(), "postgres://tillpoint@"+l.Addr().String()+"/tillpoint?connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	h.Store = store.New(pool)
	h.Pay = &payment.Service{Store: h.Store, Admin: h.Admin, Providers: provider.NewDefaultRegistry(), Limits: payment.DefaultLimits,
		Logger: slog.New(slog.DiscardHandler)}
	w := do(routes, "GET", "/checkout/"+id, nil, nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" || !strings.Contains(w.Body.String(), "Temporarily unavailable") {
		t.Errorf("page with the database down: %d %.300q", w.Code, w.Body.String())
	}
	form, hdr := signedForm(h, id, nil)
	w = do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
	if page := w.Body.String(); w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") != "5" ||
		!strings.Contains(page, "Payments are temporarily unavailable") || !strings.Contains(page, `value="Ada Lovelace"`) {
		t.Errorf("pay with the database down: %d %.300q", w.Code, page)
	}
	hdr["Accept"] = "application/json"
	w = do(routes, "POST", "/checkout/"+id+"/pay", form, hdr)
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), `"code":"temporarily_unavailable"`) {
		t.Errorf("pay (JSON) with the database down: %d %s", w.Code, w.Body.String())
	}
}

// TestSecureTokenPage: /c/{token} is the page of the session the token
// opens (the page itself is tested end to end); a token of another shape is
// not found without asking admin-api, an unknown one is not found, and
// admin-api down is "try again".
func TestSecureTokenPage(t *testing.T) {
	id, token := ids.New("cs"), "cst_"+ids.Random(43)
	admin := &adminServer{tokens: map[string]string{token: id}}
	_, routes := newTestHandler(t, adminClient(t, admin))
	asked := func() []string {
		admin.mu.Lock()
		defer admin.mu.Unlock()
		return slices.Clone(admin.asked)
	}
	do(routes, "GET", "/c/"+token, nil, nil)
	if got := asked(); len(got) != 1 || got[0] != id {
		t.Errorf("GET /c/{token} loaded %v, want the token's session %s", got, id)
	}
	if w := do(routes, "GET", "/c/cst_"+ids.Random(43), nil, nil); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), "Page not found") {
		t.Errorf("unknown token: %d %.200q", w.Code, w.Body.String())
	}
	if got := asked(); len(got) != 1 {
		t.Errorf("an unknown token loaded a session: %v", got)
	}
	_, down := newTestHandler(t, adminClient(t, nil))
	for _, odd := range []string{id, "%00", "cst_%ff", "cst_", "pay_" + ids.Random(24)} {
		if w := do(down, "GET", "/c/"+odd, nil, nil); w.Code != http.StatusNotFound {
			t.Errorf("GET /c/%s: %d, want the not-found page without admin-api", odd, w.Code)
		}
	}
	if w := do(down, "GET", "/c/"+token, nil, nil); w.Code != http.StatusServiceUnavailable {
		t.Errorf("admin-api down: %d, want 503", w.Code)
	}
}

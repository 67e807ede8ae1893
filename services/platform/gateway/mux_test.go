package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// fakeSessions is a test double of the session service: it records what the
// gateway handed it and answers from the request.
type fakeSessions struct {
	adminv1.UnimplementedCheckoutSessionServiceServer
	mu       sync.Mutex
	incoming metadata.MD
	create   *adminv1.CreateCheckoutSessionRequest
	list     *adminv1.ListCheckoutSessionsRequest
}

func (f *fakeSessions) CreateCheckoutSession(ctx context.Context, req *adminv1.CreateCheckoutSessionRequest) (*adminv1.CreateCheckoutSessionResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	f.incoming, f.create = md, req
	f.mu.Unlock()
	if err := grpc.SetHeader(ctx, metadata.Pairs(MetadataHTTPCode, "201", MetadataRequestID, "req_123",
		MetadataIdempotentReplayed, "false", "x-internal", "secret")); err != nil {
		return nil, err
	}
	return &adminv1.CreateCheckoutSessionResponse{CheckoutSession: &adminv1.CheckoutSession{
		Id: "cs_1", Object: "checkout.session", SiteId: req.GetSiteId(), Amount: req.GetAmount(), Metadata: req.GetMetadata()}}, nil
}

func (f *fakeSessions) GetCheckoutSession(ctx context.Context, req *adminv1.GetCheckoutSessionRequest) (*adminv1.GetCheckoutSessionResponse, error) {
	if err := grpc.SetHeader(ctx, metadata.Pairs(MetadataRequestID, "req_get")); err != nil {
		return nil, err
	}
	switch req.GetId() {
	case "cs_missing": // what the interceptor makes of errs.NotFoundf("id", …)
		return nil, detailedStatus(codes.NotFound, "No such checkout session: 'cs_missing'", "resource_missing", "", "id")
	case "cs_internal":
		return nil, status.Error(codes.Internal, "An internal error occurred (err_7f3a).")
	case "cs_raw":
		return nil, errors.New("pq: connection refused to 10.0.0.5")
	}
	return &adminv1.GetCheckoutSessionResponse{CheckoutSession: &adminv1.CheckoutSession{Id: req.GetId()}}, nil
}

func (f *fakeSessions) ListCheckoutSessions(_ context.Context, req *adminv1.ListCheckoutSessionsRequest) (*adminv1.ListCheckoutSessionsResponse, error) {
	f.mu.Lock()
	f.list = req
	f.mu.Unlock()
	return &adminv1.ListCheckoutSessionsResponse{Object: "list", Url: "/v1/checkout/sessions"}, nil
}

func (f *fakeSessions) ExpireCheckoutSession(_ context.Context, req *adminv1.ExpireCheckoutSessionRequest) (*adminv1.ExpireCheckoutSessionResponse, error) {
	if req.GetId() == "cs_busy" {
		return nil, detailedStatus(codes.Aborted, "A request with this Idempotency-Key is in progress.", "idempotency_key_in_use", "idempotency_error", "")
	}
	return nil, detailedStatus(codes.FailedPrecondition, "Only an open session can be expired.", "session_not_open", "", "")
}

// detailedStatus builds a status as the gRPC interceptor does (see the
// package documentation).
func detailedStatus(c codes.Code, msg, code, typ, param string) error {
	info := &errdetails.ErrorInfo{Reason: code}
	if typ != "" {
		info.Metadata = map[string]string{ErrorTypeMetadataKey: typ}
	}
	st, err := status.New(c, msg).WithDetails(info)
	if err != nil {
		return err
	}
	if param != "" {
		if st, err = st.WithDetails(&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: param, Description: msg}}}); err != nil {
			return err
		}
	}
	return st.Err()
}

type fakeSites struct {
	adminv1.UnimplementedSiteServiceServer
	mu     sync.Mutex
	update *adminv1.UpdateSiteRequest
}

func (f *fakeSites) UpdateSite(_ context.Context, req *adminv1.UpdateSiteRequest) (*adminv1.UpdateSiteResponse, error) {
	f.mu.Lock()
	f.update = req
	f.mu.Unlock()
	return &adminv1.UpdateSiteResponse{Site: &adminv1.Site{Id: req.GetId(), Name: req.GetName()}}, nil
}

type testAPI struct {
	url      string
	sessions *fakeSessions
	sites    *fakeSites
}

// newTestAPI serves the two fake services through NewServeMux and APIPrefix
// on a real HTTP server, with a 1 KiB body cap.
func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	api := &testAPI{sessions: &fakeSessions{}, sites: &fakeSites{}}
	mux := NewServeMux()
	ctx := context.Background()
	if err := adminv1.RegisterCheckoutSessionServiceHandlerServer(ctx, mux, api.sessions); err != nil {
		t.Fatal(err)
	}
	if err := adminv1.RegisterSiteServiceHandlerServer(ctx, mux, api.sites); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.MaxBytesHandler(APIPrefix(mux), 1024))
	t.Cleanup(srv.Close)
	api.url = srv.URL
	return api
}

type response struct {
	status int
	header http.Header
	body   string
}

func (api *testAPI) do(t *testing.T, method, path, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, api.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (r response) want(t *testing.T, status int, body string) {
	t.Helper()
	if r.status != status || r.body != body {
		t.Errorf("got %d %s\nwant %d %s", r.status, r.body, status, body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return v
}

func TestGatewayCreate(t *testing.T) {
	api := newTestAPI(t)
	for _, amount := range []string{`5000`, `5000 `} {
		r := api.do(t, "POST", "/v1/checkout/sessions", `{"site_id":"site_1","amount":`+amount+`,"metadata":{"b":"2","a":"1"}}`,
			"Authorization", "Bearer sk_test_x", "Idempotency-Key", "key-1", "X-Request-Id", "rid-9",
			"Grpc-Metadata-X-Http-Code", "500", "X-Internal", "forged")
		if r.status != http.StatusCreated {
			t.Fatalf("status %d (%s), want 201 from x-http-code", r.status, r.body)
		}
		if got := r.json(t)["amount"]; got != float64(5000) {
			t.Errorf("amount %#v, want the number 5000", got)
		}
		if !strings.Contains(r.body, `"metadata":{"a":"1","b":"2"}`) || !strings.Contains(r.body, `"payment":null`) {
			t.Errorf("body %s", r.body)
		}
		if r.header.Get("Request-Id") != "req_123" || r.header.Get("Idempotent-Replayed") != "false" {
			t.Errorf("headers %v", r.header)
		}
		for name := range r.header {
			if lower := strings.ToLower(name); strings.Contains(lower, "x-http-code") || strings.Contains(lower, "internal") || strings.HasPrefix(lower, "grpc-") {
				t.Errorf("internal metadata leaked as header %s", name)
			}
		}
	}
	api.sessions.mu.Lock()
	md := api.sessions.incoming
	api.sessions.mu.Unlock()
	for key, want := range map[string]string{MetadataAuthorization: "Bearer sk_test_x", MetadataIdempotencyKey: "key-1", MetadataRequestIDIn: "rid-9"} {
		if got := md.Get(key); !slices.Equal(got, []string{want}) {
			t.Errorf("metadata %s = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{MetadataHTTPCode, "x-internal", "content-type"} {
		if got := md.Get(key); len(got) != 0 {
			t.Errorf("header forwarded as metadata %s = %q", key, got)
		}
	}
}

func TestGatewayAPIPrefix(t *testing.T) {
	api := newTestAPI(t)
	r := api.do(t, "POST", "/api/v1/checkouts/site_9/create", `{"amount":100}`)
	if r.status != http.StatusCreated || r.json(t)["site_id"] != "site_9" {
		t.Errorf("got %d %s", r.status, r.body)
	}
}

func TestGatewayBodyErrors(t *testing.T) {
	api := newTestAPI(t)
	api.do(t, "POST", "/v1/checkout/sessions", `{"site_id":"site_1","foo":1}`).want(t, 400,
		`{"error":{"type":"invalid_request_error","code":"parameter_unknown","param":"foo","message":"Received unknown parameter: foo."}}`)
	api.do(t, "POST", "/v1/checkout/sessions", `{"line_items":[{"name":"Tea","quantity":"two"}]}`).want(t, 400,
		`{"error":{"type":"invalid_request_error","code":"parameter_invalid_type","param":"line_items[0][quantity]","message":"Invalid value for line_items[0][quantity]: expected an integer."}}`)
	api.do(t, "POST", "/v1/checkout/sessions", `{"amount":`).want(t, 400,
		`{"error":{"type":"invalid_request_error","code":"invalid_json","message":"Invalid JSON body: unexpected end of JSON input (line 1, column 10)."}}`)
	api.do(t, "POST", "/v1/checkout/sessions", `{"description":"`+strings.Repeat("x", 2000)+`"}`).want(t, 413,
		`{"error":{"type":"invalid_request_error","code":"request_too_large","message":"The request body is larger than the limit of 1024 bytes."}}`)
}

func TestGatewayEmptyBody(t *testing.T) {
	api := newTestAPI(t)
	if r := api.do(t, "POST", "/v1/checkouts/site_1/create", ""); r.status != http.StatusCreated {
		t.Errorf("empty body: %d %s", r.status, r.body)
	}
}

func TestGatewayQuery(t *testing.T) {
	api := newTestAPI(t)
	r := api.do(t, "GET", "/v1/checkout/sessions?created[gte]=1700000000&created%5Blt%5D=2024-01-16T10:00:00Z&limit=5", "")
	if r.status != http.StatusOK {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	api.sessions.mu.Lock()
	req := api.sessions.list
	api.sessions.mu.Unlock()
	if req.GetCreated().GetGte().GetSeconds() != 1700000000 || req.GetCreated().GetLt().GetSeconds() != 1705399200 || req.GetLimit() != 5 {
		t.Errorf("request %v", req)
	}
	if want := `{"object":"list","data":[],"has_more":false,"url":"/v1/checkout/sessions"}`; r.body != want {
		t.Errorf("body %s, want %s", r.body, want)
	}
	api.do(t, "GET", "/v1/checkout/sessions?bogus=1", "").want(t, 400,
		`{"error":{"type":"invalid_request_error","code":"parameter_unknown","param":"bogus","message":"Received unknown parameter: bogus."}}`)
	api.do(t, "GET", "/v1/checkout/sessions?created[gte]=soon", "").want(t, 400,
		`{"error":{"type":"invalid_request_error","code":"parameter_invalid_type","param":"created[gte]","message":"Invalid value for created[gte]: expected a Unix timestamp (seconds) or an RFC 3339 time."}}`)
}

func TestGatewayRoutingErrors(t *testing.T) {
	api := newTestAPI(t)
	api.do(t, "GET", "/v1/foo", "").want(t, 404,
		`{"error":{"type":"invalid_request_error","code":"route_not_found","message":"Unrecognized request URL (GET: /v1/foo)."}}`)
	api.do(t, "GET", "/api/v1/foo", "").want(t, 404,
		`{"error":{"type":"invalid_request_error","code":"route_not_found","message":"Unrecognized request URL (GET: /api/v1/foo)."}}`)
	api.do(t, "DELETE", "/v1/checkout/sessions", "").want(t, 405,
		`{"error":{"type":"invalid_request_error","code":"method_not_allowed","message":"The URL /v1/checkout/sessions does not accept DELETE requests."}}`)
	// A form-encoded POST must not fall back to the list route.
	r := api.do(t, "POST", "/v1/checkout/sessions/cs_1", "a=b", "Content-Type", "application/x-www-form-urlencoded")
	if r.status != http.StatusMethodNotAllowed {
		t.Errorf("form POST to a GET route: %d %s", r.status, r.body)
	}
}

func TestGatewayServiceErrors(t *testing.T) {
	api := newTestAPI(t)
	r := api.do(t, "GET", "/v1/checkout/sessions/cs_missing", "")
	r.want(t, 404, `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"id","message":"No such checkout session: 'cs_missing'"}}`)
	if r.header.Get("Request-Id") != "req_get" {
		t.Errorf("error response lacks Request-Id: %v", r.header)
	}
	api.do(t, "POST", "/v1/checkout/sessions/cs_open/expire", "").want(t, 400,
		`{"error":{"type":"invalid_request_error","code":"session_not_open","message":"Only an open session can be expired."}}`)
	api.do(t, "POST", "/v1/checkout/sessions/cs_busy/expire", "").want(t, 409,
		`{"error":{"type":"idempotency_error","code":"idempotency_key_in_use","message":"A request with this Idempotency-Key is in progress."}}`)
	api.do(t, "GET", "/v1/checkout/sessions/cs_internal", "").want(t, 500,
		`{"error":{"type":"api_error","code":"internal","message":"An internal error occurred (err_7f3a)."}}`)
	api.do(t, "GET", "/v1/checkout/sessions/cs_raw", "").want(t, 500,
		`{"error":{"type":"api_error","code":"internal","message":"An internal error occurred."}}`)
}

func TestGatewayUpdateMask(t *testing.T) {
	api := newTestAPI(t)
	r := api.do(t, "POST", "/v1/sites/site_1", `{"defaultCurrency":"EUR","name":"Shop"}`)
	if r.status != http.StatusOK {
		t.Fatalf("got %d %s", r.status, r.body)
	}
	api.sites.mu.Lock()
	req := api.sites.update
	api.sites.mu.Unlock()
	if req.GetId() != "site_1" || !slices.Equal(req.GetUpdateMask().GetPaths(), []string{"name", "default_currency"}) {
		t.Errorf("request %v", req)
	}
}

func TestErrorStatusTable(t *testing.T) {
	for c, want := range map[codes.Code]struct {
		status int
		typ    string
	}{
		codes.InvalidArgument: {400, typeInvalidRequest}, codes.FailedPrecondition: {400, typeInvalidRequest},
		codes.OutOfRange: {400, typeInvalidRequest}, codes.NotFound: {404, typeInvalidRequest},
		codes.AlreadyExists: {409, typeInvalidRequest}, codes.Aborted: {409, typeInvalidRequest},
		codes.Unauthenticated: {401, typeAuthentication}, codes.PermissionDenied: {403, typePermission},
		codes.ResourceExhausted: {429, typeRateLimit}, codes.Unimplemented: {404, typeInvalidRequest},
		codes.Unavailable: {503, typeAPI}, codes.Internal: {500, typeAPI}, codes.Unknown: {500, typeAPI},
		codes.DeadlineExceeded: {500, typeAPI},
	} {
		got := toAPIError(status.Error(c, "m"))
		if got.status != want.status || got.typ != want.typ {
			t.Errorf("%v: %d %s, want %d %s", c, got.status, got.typ, want.status, want.typ)
		}
	}
}

// TestBodyMustNotContradictPath: a body may repeat a path parameter only
// with the path's value; grpc-gateway would overwrite it without a word.
func TestBodyMustNotContradictPath(t *testing.T) {
	api := newTestAPI(t)
	for _, c := range []struct{ method, path, body, param string }{
		{"POST", "/v1/checkouts/site_1/create", `{"site_id":"site_2","amount":1}`, "site_id"},
		{"POST", "/api/v1/checkouts/site_1/create", `{"siteId":"site_2"}`, "site_id"},
		{"POST", "/v1/sites/site_1", `{"id":"site_2","name":"x"}`, "id"},
		{"POST", "/v1/checkout/sessions/cs_1/expire", `{"id":"cs_2"}`, "id"},
		// The slow decoder too (a timestamp is not for the fast one).
		{"POST", "/v1/checkouts/site_1/create", `{"site_id":"site_2","expires_at":"2030-01-01T00:00:00Z"}`, "site_id"},
	} {
		r := api.do(t, c.method, c.path, c.body, "Authorization", "Bearer sk_test_x")
		e, _ := r.json(t)["error"].(map[string]any)
		if r.status != http.StatusBadRequest || e["param"] != c.param || e["code"] != "parameter_invalid" {
			t.Errorf("%s %s %s: %d %s, want 400 naming %s", c.method, c.path, c.body, r.status, r.body, c.param)
		}
	}
	api.sessions.mu.Lock()
	created := api.sessions.create
	api.sessions.mu.Unlock()
	if created != nil {
		t.Fatalf("a contradicting body reached the service: %v", created)
	}
	// The same value, or none, is fine.
	for _, body := range []string{`{"site_id":"site_1","amount":1}`, `{"amount":1}`, ``} {
		r := api.do(t, "POST", "/v1/checkouts/site_1/create", body, "Authorization", "Bearer sk_test_x")
		if r.status != http.StatusCreated || r.json(t)["site_id"] != "site_1" {
			t.Errorf("%s: %d %s", body, r.status, r.body)
		}
	}
}

// TestHeadersThatCannotBeForwardedAreRefused: grpc-gateway would drop them
// silently (the request then running without its idempotency key).
func TestHeadersThatCannotBeForwardedAreRefused(t *testing.T) {
	api := newTestAPI(t)
	for _, c := range []struct{ name, value string }{
		{"Idempotency-Key", "caf\xc3\xa9"}, {"Authorization", "Bearer sk_test_\xff"},
	} {
		r := api.do(t, "POST", "/v1/checkouts/site_1/create", `{"amount":1}`, c.name, c.value)
		e, _ := r.json(t)["error"].(map[string]any)
		if r.status != http.StatusBadRequest || e["param"] != c.name || e["code"] != "header_invalid" {
			t.Errorf("%s %q: %d %s", c.name, c.value, r.status, r.body)
		}
	}
	api.sessions.mu.Lock()
	created := api.sessions.create
	api.sessions.mu.Unlock()
	if created != nil {
		t.Fatalf("the request reached the service: %v", created)
	}
}

func TestNoStore(t *testing.T) {
	h := NoStore(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		WriteError(w, errors.New("boom"))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/x", nil))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
}

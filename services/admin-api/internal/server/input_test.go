package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// These tests are about input the merchant API used to accept or misread:
// integers given as strings or floats, lone surrogates, ambiguous headers,
// a body contradicting the URL path, odd bytes in paths and query strings.

// wantError checks a 4xx error answer naming param with code (when set).
func wantError(t *testing.T, what string, status int, body map[string]any, wantStatus int, wantParam, wantCode string) {
	t.Helper()
	param, typ, code := apiError(body)
	if status != wantStatus || param != wantParam || typ != "invalid_request_error" || (wantCode != "" && code != wantCode) {
		t.Errorf("%s: %d %v; want %d param=%q code=%q", what, status, body, wantStatus, wantParam, wantCode)
	}
}

func TestIntegersAreJSONNumbers(t *testing.T) {
	e := newEnv(t)
	create := "/v1/checkouts/" + e.siteA + "/create"
	with := func(k, v string) string {
		return `{"currency":"EUR","success_url":"https://shop.example/ok","cancel_url":"https://shop.example/no",` + k + `:` + v + `}`
	}
	for _, c := range []struct{ path, body, param string }{
		{create, with(`"amount"`, `"100"`), "amount"},
		{create, with(`"amount"`, `1e3`), "amount"},
		{create, with(`"amount"`, `10.0`), "amount"},
		{create, with(`"amount"`, `"1e3"`), "amount"},
		{create, with(`"line_items"`, `[{"name":"Tea","unit_amount":450,"quantity":1},{"name":"Cup","unit_amount":1299,"quantity":"2"}]`),
			"line_items[1][quantity]"},
		{create, with(`"lineItems"`, `[{"name":"Tea","unitAmount":4.5E2,"quantity":1}]`), "line_items[0][unit_amount]"},
		{create, with(`"amount":100,"expires_in_minutes"`, `"30"`), "expires_in_minutes"},
		{"/v1/checkout/sessions", `{"site_id":"` + e.siteA + `","amount":"5000"}`, "amount"},
		{"/v1/sites", `{"name":"Shop","default_currency":"EUR","tax_rates":[{"country":"FR","percentage_bps":"2000","display_name":"TVA"}]}`,
			"tax_rates[0][percentage_bps]"},
		{"/v1/sites/" + e.siteA, `{"tax_rates":[{"country":"FR","percentage_bps":2000.0,"display_name":"TVA"}]}`, "tax_rates[0][percentage_bps]"},
	} {
		status, body := e.do("POST", c.path, e.keyA, c.body)
		wantError(t, c.body, status, body, http.StatusBadRequest, c.param, "parameter_invalid_type")
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Errorf("refused requests wrote %d sessions", n)
	}
	if n := e.count("SELECT count(*) FROM admin.sites"); n != 2 {
		t.Errorf("refused requests left %d sites, want the 2 of the harness", n)
	}
	// A plain integer still works, whichever decoder takes the body (a
	// timestamp sends it the slow way).
	for _, extra := range []string{``, `,"expires_at":"` + time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339) + `"`} {
		status, body := e.do("POST", create, e.keyA, with(`"amount"`, `100`+extra))
		if status != http.StatusCreated || body["amount_total"] != float64(100) {
			t.Errorf("amount 100%s: %d %v", extra, status, body)
		}
	}
}

func TestLoneSurrogateIsNamed(t *testing.T) {
	e := newEnv(t)
	create := "/v1/checkouts/" + e.siteA + "/create"
	for _, c := range []struct{ path, body, param string }{
		{create, `{"amount":100,"description":"\ud800"}`, "description"},
		{create, `{"amount":100,"description":"caf\u00e9 \udfff"}`, "description"},
		{create, `{"amount":100,"description":"\ud800\u0041"}`, "description"},
		{create, `{"amount":100,"metadata":{"order":"\udc00"}}`, "metadata[order]"},
		{create, `{"amount":100,"metadata":{"\ud800":"1"}}`, "metadata"},
		{create, `{"line_items":[{"name":"\ud83d","unit_amount":1,"quantity":1}]}`, "line_items[0][name]"},
		{"/v1/sites/" + e.siteA, `{"branding":{"logo_url":"https://shop.example/\ud800.png"}}`, "branding[logo_url]"},
	} {
		status, body := e.do("POST", c.path, e.keyA, c.body)
		wantError(t, c.body, status, body, http.StatusBadRequest, c.param, "parameter_invalid")
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Errorf("refused requests wrote %d sessions", n)
	}
	// A surrogate pair is a character.
	status, body := e.do("POST", create, e.keyA, `{"amount":100,"description":"tea \ud83c\udf75"}`)
	if status != http.StatusCreated || body["description"] != "tea \U0001F375" {
		t.Errorf("surrogate pair: %d %v", status, body)
	}
}

// send makes a request with headers given as name, value pairs, added (not
// set), so that a name may come twice.
func (e *env) send(method, path, body string, headers ...string) (int, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		e.t.Fatalf("%s %s: %d, not JSON: %q", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

func TestAmbiguousHeadersAreRefused(t *testing.T) {
	e := newEnv(t)
	create := "/v1/checkouts/" + e.siteA + "/create"
	session := `{"amount":100,"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/no"}`
	bearer := func(k string) string { return "Bearer " + k }
	garbage := "Bearer sk_test_" + strings.Repeat("x", 40)
	for _, c := range []struct {
		name    string
		headers []string
		param   string
		code    string
	}{
		{"the same key twice", []string{"Authorization", bearer(e.keyA), "Authorization", bearer(e.keyA)}, "Authorization", "header_duplicate"},
		{"a key, then garbage", []string{"Authorization", bearer(e.keyA), "Authorization", garbage}, "Authorization", "header_duplicate"},
		{"garbage, then a key", []string{"Authorization", garbage, "Authorization", bearer(e.keyA)}, "Authorization", "header_duplicate"},
		{"two organizations' keys", []string{"Authorization", bearer(e.keyA), "Authorization", bearer(e.keyB)}, "Authorization", "header_duplicate"},
		{"two idempotency keys", []string{"Authorization", bearer(e.keyA), "Idempotency-Key", "a", "Idempotency-Key", "b"},
			"Idempotency-Key", "header_duplicate"},
		// grpc-gateway drops a header value that is not printable ASCII:
		// the request ran without idempotency, or as if no key was sent.
		{"a non-ASCII idempotency key", []string{"Authorization", bearer(e.keyA), "Idempotency-Key", "caf\xc3\xa9"},
			"Idempotency-Key", "header_invalid"},
		{"a non-ASCII authorization", []string{"Authorization", bearer(e.keyA) + "\xff"}, "Authorization", "header_invalid"},
	} {
		status, body := e.send("POST", create, session, c.headers...)
		wantError(t, c.name, status, body, http.StatusBadRequest, c.param, c.code)
		status, body = e.send("GET", "/v1/checkout/sessions", "", c.headers...)
		wantError(t, c.name+" (GET)", status, body, http.StatusBadRequest, c.param, c.code)
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Errorf("refused requests wrote %d sessions", n)
	}

	// Over gRPC, as metadata.
	client := adminv1.NewCheckoutSessionServiceClient(serveGRPC(t, e.api.GRPC))
	for _, pairs := range [][]string{
		{"authorization", bearer(e.keyA), "authorization", bearer(e.keyA)},
		{"authorization", bearer(e.keyA), "authorization", garbage},
		{"authorization", bearer(e.keyA), "idempotency-key", "a", "idempotency-key", "b"},
	} {
		ctx := metadata.AppendToOutgoingContext(context.Background(), pairs...)
		_, err := client.ListCheckoutSessions(ctx, &adminv1.ListCheckoutSessionsRequest{})
		st := status.Convert(err)
		var field string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
				field = br.GetFieldViolations()[0].GetField()
			}
		}
		if st.Code() != codes.InvalidArgument || (field != "Authorization" && field != "Idempotency-Key") {
			t.Errorf("gRPC %q: %v (field %q), want InvalidArgument naming the header", pairs, err, field)
		}
	}
}

func TestNoStoreOnEveryAnswer(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		method, path, key, body string
		status                  int
	}{
		{"POST", "/v1/api_keys", e.keyA, `{"name":"ci"}`, http.StatusCreated}, // carries a secret
		{"GET", "/v1/api_keys", e.keyA, ``, http.StatusOK},
		{"POST", "/v1/checkouts/" + e.siteA + "/create", e.keyA, `{"amount":100}`, http.StatusCreated},
		{"GET", "/api/v1/sites/" + e.siteA, e.keyA, ``, http.StatusOK},
		{"POST", "/v1/api_keys", e.keyA, `{"name":5}`, http.StatusBadRequest},
		{"POST", "/v1/api_keys", "", `{"name":"ci"}`, http.StatusUnauthorized},
		{"GET", "/v1/sites/site_nope", e.keyA, ``, http.StatusNotFound},
		{"GET", "/v1/nope", e.keyA, ``, http.StatusNotFound},
		{"DELETE", "/v1/api_keys", e.keyA, ``, http.StatusMethodNotAllowed},
	} {
		resp := e.raw(c.method, c.path, c.key, c.body)
		resp.Body.Close()
		if resp.StatusCode != c.status || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: %d, Cache-Control %q; want %d and no-store", c.method, c.path, resp.StatusCode, resp.Header.Get("Cache-Control"), c.status)
		}
	}
}

func TestBodyMustNotContradictPath(t *testing.T) {
	e := newEnv(t)
	sessionID, _ := e.newSession()
	status, key := e.do("POST", "/v1/api_keys", e.keyA, map[string]any{"name": "temp"})
	if status != http.StatusCreated {
		t.Fatalf("create key: %d %v", status, key)
	}
	keyID := key["id"].(string)
	session := `"amount":100,"success_url":"https://shop.example/ok","cancel_url":"https://shop.example/no"`
	for _, c := range []struct{ path, body, param string }{
		{"/v1/checkouts/" + e.siteA + "/create", `{"site_id":"` + e.liveSiteA + `",` + session + `}`, "site_id"},
		{"/api/v1/checkouts/" + e.siteA + "/create", `{"siteId":"site_other",` + session + `}`, "site_id"},
		{"/v1/sites/" + e.siteA, `{"id":"site_other","name":"Renamed"}`, "id"},
		{"/v1/api_keys/" + keyID + "/revoke", `{"id":"key_other"}`, "id"},
		{"/v1/checkout/sessions/" + sessionID + "/expire", `{"id":"cs_other"}`, "id"},
		// Forwarded routes are refused before anything is forwarded.
		{"/v1/payments/pay_1/confirm", `{"id":"pay_2","amount":100}`, "id"},
		{"/v1/webhook_endpoints/we_1", `{"id":"we_2","url":"https://shop.example/hook"}`, "id"},
		{"/v1/webhook_endpoints/we_1/rotate_secret", `{"id":"we_2"}`, "id"},
		{"/v1/events/evt_1/resend", `{"id":"evt_2"}`, "id"},
	} {
		status, body := e.do("POST", c.path, e.keyA, c.body)
		wantError(t, c.path+" "+c.body, status, body, http.StatusBadRequest, c.param, "parameter_invalid")
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 1 {
		t.Errorf("%d sessions, want only the first", n)
	}
	if n := e.count("SELECT count(*) FROM admin.sites WHERE name = 'Renamed'"); n != 0 {
		t.Error("a refused update renamed the site")
	}
	if n := e.count("SELECT count(*) FROM admin.api_keys WHERE id = $1 AND revoked_at IS NULL", keyID); n != 1 {
		t.Error("a refused revocation revoked the key")
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions WHERE id = $1 AND status = 'open'", sessionID); n != 1 {
		t.Error("a refused expiry expired the session")
	}
	// Repeating the path's own value is not a contradiction.
	status, body := e.do("POST", "/v1/checkouts/"+e.siteA+"/create", e.keyA, `{"site_id":"`+e.siteA+`",`+session+`}`)
	if status != http.StatusCreated {
		t.Errorf("the path's site_id in the body too: %d %v", status, body)
	}
	status, body = e.do("POST", "/v1/sites/"+e.siteA, e.keyA, `{"id":"`+e.siteA+`","name":"Renamed"}`)
	if status != http.StatusOK || body["name"] != "Renamed" {
		t.Errorf("the path's id in the body too: %d %v", status, body)
	}
}

// TestOddBytesInPathAndQuery: invalid UTF-8 or NUL in a path or query value
// is a 4xx naming the parameter on every route, never a 500 (nor a call to
// another service: the forwarded routes have no peer in this harness).
func TestOddBytesInPathAndQuery(t *testing.T) {
	e := newEnv(t)
	for _, odd := range []string{"%ff", "%00", "%c0%af", "a%00b", "%ed%a0%80"} {
		for _, c := range []struct{ method, path, param string }{
			{"GET", "/v1/checkout/sessions/" + odd, "id"},
			{"POST", "/v1/checkout/sessions/" + odd + "/expire", "id"},
			{"POST", "/v1/checkouts/" + odd + "/create", "site_id"},
			{"GET", "/v1/sites/" + odd, "id"},
			{"POST", "/v1/sites/" + odd, "id"},
			{"POST", "/v1/api_keys/" + odd + "/revoke", "id"},
			{"POST", "/v1/payments/" + odd + "/confirm", "id"},
			{"GET", "/v1/events/" + odd, "id"},
			{"GET", "/v1/events/" + odd + "/deliveries", "id"},
			{"POST", "/v1/events/" + odd + "/resend", "id"},
			{"GET", "/v1/webhook_endpoints/" + odd, "id"},
			{"POST", "/v1/webhook_endpoints/" + odd + "/rotate_secret", "id"},
			{"DELETE", "/v1/webhook_endpoints/" + odd, "id"},
			{"GET", "/api/v1/checkout/sessions/" + odd, "id"},
			{"GET", "/v1/checkout/sessions?starting_after=" + odd, "starting_after"},
			{"GET", "/v1/checkout/sessions?ending_before=" + odd, "ending_before"},
			{"GET", "/v1/checkout/sessions?status=" + odd, "status"},
			{"GET", "/v1/checkout/sessions?site_id=" + odd, "site_id"},
			{"GET", "/v1/checkout/sessions?customer=" + odd, "customer"},
			{"GET", "/v1/checkout/sessions?order_id=" + odd, "order_id"},
			{"GET", "/v1/sites?starting_after=" + odd, "starting_after"},
			{"GET", "/v1/api_keys?ending_before=" + odd, "ending_before"},
			{"GET", "/v1/events?type=" + odd, "type"},
			{"GET", "/v1/webhook_endpoints?starting_after=" + odd, "starting_after"},
		} {
			var body any
			if c.method == "POST" {
				body = `{}`
			}
			status, out := e.do(c.method, c.path, e.keyA, body)
			param, _, _ := apiError(out)
			if status < 400 || status >= 500 || param != c.param {
				t.Errorf("%s %s: %d %v; want a 4xx naming %s", c.method, c.path, status, out, c.param)
			}
		}
	}
}

// TestNULOverGRPC: the same over gRPC, for the strings gRPC can carry (a
// proto3 string that is not UTF-8 is refused by grpc-go itself, as INTERNAL,
// before any of our code runs).
func TestNULOverGRPC(t *testing.T) {
	e := newEnv(t)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+e.keyA)
	client := adminv1.NewCheckoutSessionServiceClient(serveGRPC(t, e.api.GRPC))
	_, err := client.GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: "cs_\x00"})
	_, err2 := client.ListCheckoutSessions(ctx, &adminv1.ListCheckoutSessionsRequest{StartingAfter: "cs_\x00"})
	for i, err := range []error{err, err2} {
		st := status.Convert(err)
		var field string
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
				field = br.GetFieldViolations()[0].GetField()
			}
		}
		if want := []string{"id", "starting_after"}[i]; st.Code() != codes.InvalidArgument || field != want {
			t.Errorf("%v (field %q), want InvalidArgument naming %s", err, field, want)
		}
	}
}

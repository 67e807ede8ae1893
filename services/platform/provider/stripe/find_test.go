package stripe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// searchStates is a transport that sends each request through rec to
// stripe-mock, which validates it against Stripe's specification, and
// replaces the intents of a search answer (stripe-mock's fixture, with
// empty metadata) by copies of that fixture edited as intents says: the
// states Stripe would hold, which stateless stripe-mock cannot. nil intents
// keep stripe-mock's own answer.
type searchStates struct {
	rec     *recorder
	intents []map[string]any
}

func (s *searchStates) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.rec.RoundTrip(req)
	if err != nil || s.intents == nil || !strings.HasSuffix(req.URL.Path, "/search") || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	var page map[string]any
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	fixture := page["data"].([]any)[0].(map[string]any)
	data := []any{}
	for i, edit := range s.intents {
		pi := map[string]any{}
		for k, v := range fixture {
			pi[k] = v
		}
		pi["id"] = "pi_found" + strconv.Itoa(i)
		for k, v := range edit {
			pi[k] = v
		}
		data = append(data, pi)
	}
	page["data"] = data
	body, _ := json.Marshal(page)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return resp, nil
}

// intentOf is an edit of the fixture intent: its status, for payment.
func intentOf(status, payment string) map[string]any {
	return map[string]any{"status": status, "capture_method": "manual", "last_payment_error": nil,
		"metadata": map[string]any{MetadataPaymentID: payment}}
}

// TestFindAuthorization finds the intent Authorize made for a payment by
// Stripe's search (stripe-mock checks the call), and answers only an intent
// of that payment that holds or may hold money.
func TestFindAuthorization(t *testing.T) {
	rec := &recorder{}
	states := &searchStates{rec: rec}
	p, err := Factory(testkit.StripeMock(t), &http.Client{Transport: states, Timeout: 30 * time.Second})(provider.Credentials{
		AccountID: "pa_1", Provider: provider.NameStripe, SecretKey: testkit.StripeMockKey})
	if err != nil {
		t.Fatal(err)
	}
	f := p.(provider.AuthorizationFinder)
	ctx := context.Background()

	// stripe-mock's own answer: its fixture intent, with no payment of ours.
	if res, err := f.FindAuthorization(ctx, "pay_find1"); !errors.Is(err, provider.ErrUnknownReference) {
		t.Errorf("stripe-mock's fixture = %+v, %v; want ErrUnknownReference", res, err)
	}
	s := rec.last(t)
	wantCommon(t, s)
	if s.Method != http.MethodGet || s.Path != "/v1/payment_intents/search" {
		t.Errorf("sent %s %s", s.Method, s.Path)
	}
	for k, v := range map[string]string{"query": "metadata['tillpoint_payment_id']:'pay_find1'", "limit": "10", "expand[0]": "data.payment_method"} {
		if got := s.Query.Get(k); got != v {
			t.Errorf("search: %s = %q, want %q", k, got, v)
		}
	}

	for _, tc := range []struct {
		name     string
		intents  []map[string]any
		want     string // the intent found; "" for ErrUnknownReference
		captured bool
	}{
		{"authorised", []map[string]any{intentOf("requires_capture", "pay_find1")}, "pi_found0", false},
		{"captured by itself", []map[string]any{intentOf("succeeded", "pay_find1")}, "pi_found0", true},
		{"waiting on 3-D Secure", []map[string]any{intentOf("requires_action", "pay_find1")}, "pi_found0", false},
		{"declined", []map[string]any{intentOf("requires_payment_method", "pay_find1")}, "", false},
		{"cancelled", []map[string]any{intentOf("canceled", "pay_find1")}, "", false},
		{"none", []map[string]any{}, "", false},
		{"another payment's", []map[string]any{intentOf("requires_capture", "pay_other")}, "", false},
		{"the authorised one of two", []map[string]any{intentOf("requires_action", "pay_find1"), intentOf("requires_capture", "pay_find1")}, "pi_found1", false},
		{"the live one after a decline", []map[string]any{intentOf("canceled", "pay_find1"), intentOf("succeeded", "pay_find1")}, "pi_found1", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			states.intents = tc.intents
			res, err := f.FindAuthorization(ctx, "pay_find1")
			if tc.want == "" {
				if !errors.Is(err, provider.ErrUnknownReference) {
					t.Errorf("= %+v, %v; want ErrUnknownReference", res, err)
				}
				return
			}
			if err != nil || res.Reference != tc.want || res.Captured != tc.captured || res.Outcome == provider.Declined {
				t.Errorf("= %+v, %v; want %s captured=%t", res, err, tc.want, tc.captured)
			}
			if s := rec.last(t); s.Status != http.StatusOK {
				t.Errorf("stripe-mock answered %d", s.Status)
			}
		})
	}

	// A live intent for a test key is refused, not taken for ours.
	live := intentOf("requires_capture", "pay_find1")
	live["livemode"] = true
	states.intents = []map[string]any{live}
	if res, err := f.FindAuthorization(ctx, "pay_find1"); !errors.Is(err, provider.ErrInvalidRequest) {
		t.Errorf("live intent = %+v, %v; want ErrInvalidRequest", res, err)
	}

	// An id that would break out of the query's quotes is never sent.
	n := rec.count()
	for _, id := range []string{"pay_x'OR'1", `pay_x\`, "", "pay x"} {
		if _, err := f.FindAuthorization(ctx, id); !errors.Is(err, provider.ErrInvalidRequest) {
			t.Errorf("%q: %v, want ErrInvalidRequest", id, err)
		}
	}
	if rec.count() != n {
		t.Errorf("%d requests sent for bad ids", rec.count()-n)
	}
}

// TestFindAuthorizationErrors: Stripe unreachable or refusing the key is an
// error, never "none found" (which would fail the payment and leave the
// authorisation held).
func TestFindAuthorizationErrors(t *testing.T) {
	for code, want := range map[int]error{500: ErrUnavailable, 401: ErrAuthentication} {
		kind := map[int]string{500: "api_error", 401: "invalid_request_error"}[code]
		c, _ := stripeAPIClient(t, map[string]func() (int, any){
			"GET /v1/payment_intents/search": answer(code, errorBody(map[string]any{"type": kind, "message": fmt.Sprint(code)})),
		})
		if _, err := c.FindIntent(context.Background(), "pay_1"); !errors.Is(err, want) || errors.Is(err, provider.ErrUnknownReference) {
			t.Errorf("%d: %v, want %v", code, err, want)
		}
	}
}

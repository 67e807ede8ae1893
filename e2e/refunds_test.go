package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// paidPayment pays a new session (€26.49) with the 4242 card and returns the
// session and payment ids.
func paidPayment(t *testing.T) (sessionID, paymentID string) {
	t.Helper()
	id := paySession(t)
	return id, session(t, id)["payment"].(string)
}

// wantAPIError checks an error answer's status, param and code.
func wantAPIError(t *testing.T, what string, status int, body map[string]any, wantStatus int, param, code string) {
	t.Helper()
	e, _ := body["error"].(map[string]any)
	if status != wantStatus || e == nil || e["param"] != param || (code != "" && e["code"] != code) {
		t.Errorf("%s: %d %v; want %d param=%q code=%q", what, status, body, wantStatus, param, code)
	}
}

var otherOrgOnce struct {
	sync.Once
	key string
	err error
}

// otherOrgKey makes a second organization with a test key, as an operator would.
func otherOrgKey(t *testing.T) string {
	t.Helper()
	otherOrgOnce.Do(func() {
		org, err := adminCLI("orgs", "create", "--name", "e2e other")
		if err != nil {
			otherOrgOnce.err = err
			return
		}
		otherOrgOnce.key, otherOrgOnce.err = adminCLI("keys", "create", "--org", org, "--mode", "test", "--name", "e2e other")
	})
	if otherOrgOnce.err != nil || !strings.HasPrefix(otherOrgOnce.key, "sk_test_") {
		t.Fatalf("other organization's key: %v %q", otherOrgOnce.err, otherOrgOnce.key)
	}
	return otherOrgOnce.key
}

func TestRefundPartialThenFull(t *testing.T) {
	_, payID := paidPayment(t)
	body := fmt.Sprintf(`{"payment":%q,"amount":1000,"reason":"requested_by_customer","metadata":{"ticket":"T-7"}}`, payID)
	status, r1 := apiIdem(t, sys.SecretKey, "/v1/refunds", body, "refund-"+payID)
	if status != http.StatusOK || r1["object"] != "refund" || r1["status"] != "succeeded" || r1["amount"] != 1000.0 ||
		r1["currency"] != "EUR" || r1["payment"] != payID || r1["reason"] != "requested_by_customer" || r1["livemode"] != false ||
		!strings.HasPrefix(r1["id"].(string), "re_") || r1["metadata"].(map[string]any)["ticket"] != "T-7" {
		t.Fatalf("partial refund: %d %v", status, r1)
	}
	// The same Idempotency-Key refunds once.
	if status, again := apiIdem(t, sys.SecretKey, "/v1/refunds", body, "refund-"+payID); status != http.StatusOK || again["id"] != r1["id"] {
		t.Fatalf("repeat: %d %v", status, again)
	}
	status, p := api(t, "GET", "/v1/payments/"+payID, nil)
	if status != http.StatusOK || p["amount_refunded"] != 1000.0 || p["provider"] != "test" || p["fee"] != 0.0 ||
		p["status"] != "succeeded" || p["updated_at"] == nil || len(p["refunds"].([]any)) != 1 {
		t.Fatalf("payment after a partial refund: %d %v", status, p)
	}
	// Over-refund: 1650 of the 1649 left.
	status, e := api(t, "POST", "/v1/refunds", map[string]any{"payment": payID, "amount": 1650})
	wantAPIError(t, "over-refund", status, e, http.StatusBadRequest, "amount", "amount_too_large")
	// The rest, by default.
	status, r2 := api(t, "POST", "/v1/refunds", map[string]any{"payment": payID})
	if status != http.StatusOK || r2["amount"] != 1649.0 || r2["status"] != "succeeded" {
		t.Fatalf("refund of the rest: %d %v", status, r2)
	}
	status, e = api(t, "POST", "/v1/refunds", map[string]any{"payment": payID, "amount": 1})
	wantAPIError(t, "refund of a refunded payment", status, e, http.StatusBadRequest, "amount", "amount_too_large")
	_, p = api(t, "GET", "/v1/payments/"+payID, nil)
	if p["amount_refunded"] != 2649.0 || len(p["refunds"].([]any)) != 2 {
		t.Fatalf("payment after full refund: %v", p)
	}
	if status, got := api(t, "GET", "/v1/refunds/"+r2["id"].(string), nil); status != http.StatusOK || got["amount"] != 1649.0 {
		t.Fatalf("GET refund: %d %v", status, got)
	}
	// Listed newest first, and paged.
	status, list := api(t, "GET", "/v1/refunds?payment="+payID, nil)
	if data := list["data"].([]any); status != http.StatusOK || list["object"] != "list" || len(data) != 2 ||
		data[0].(map[string]any)["id"] != r2["id"] || data[1].(map[string]any)["id"] != r1["id"] {
		t.Fatalf("list refunds: %d %v", status, list)
	}
	_, page := api(t, "GET", "/v1/refunds?limit=1&payment="+payID, nil)
	if data := page["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != r2["id"] || page["has_more"] != true {
		t.Fatalf("first page: %v", page)
	}
	_, page = api(t, "GET", "/v1/refunds?limit=1&payment="+payID+"&starting_after="+r2["id"].(string), nil)
	if data := page["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != r1["id"] || page["has_more"] != false {
		t.Fatalf("second page: %v", page)
	}
	_, page = api(t, "GET", "/v1/refunds?payment="+payID+"&ending_before="+r1["id"].(string), nil)
	if data := page["data"].([]any); len(data) != 1 || data[0].(map[string]any)["id"] != r2["id"] {
		t.Fatalf("ending_before page: %v", page)
	}
}

// A bank transfer is refunded by the merchant's own bank: recorded as sent.
func TestBankTransferRefundIsRecordedAsSent(t *testing.T) {
	s := newSession(t, nil)
	c := newBrowser()
	_, csrf := open(t, c, s["url"].(string))
	form := billingForm(csrf, "bank_transfer")
	if _, out, _ := post(t, c, s["url"].(string)+"/pay", form, true); out["status"] != "processing" {
		t.Fatalf("bank transfer: %v", out)
	}
	payID := session(t, s["id"].(string))["payment"].(string)
	// Not yet paid: nothing to refund.
	status, e := api(t, "POST", "/v1/refunds", map[string]any{"payment": payID})
	wantAPIError(t, "unpaid payment", status, e, http.StatusBadRequest, "payment", "payment_not_refundable")
	if status, p := api(t, "POST", "/v1/payments/"+payID+"/confirm", map[string]any{}); status != http.StatusOK || p["status"] != "succeeded" {
		t.Fatalf("confirm: %d %v", status, p)
	}
	status, r := api(t, "POST", "/v1/refunds", map[string]any{"payment": payID, "amount": 649})
	if status != http.StatusOK || r["status"] != "succeeded" {
		t.Fatalf("bank refund: %d %v", status, r)
	}
	if _, p := api(t, "GET", "/v1/payments/"+payID, nil); p["provider"] != "bank_transfer" || p["amount_refunded"] != 649.0 {
		t.Fatalf("payment: %v", p)
	}
}

// Another organization, or the other mode, sees none of it: 404.
func TestRefundsAndPaymentsAreScoped(t *testing.T) {
	_, payID := paidPayment(t)
	_, r := api(t, "POST", "/v1/refunds", map[string]any{"payment": payID, "amount": 100})
	refundID := r["id"].(string)
	for name, key := range map[string]string{"other organization": otherOrgKey(t), "live key": liveKey(t)} {
		status, e := apiAs(t, key, "GET", "/v1/payments/"+payID, nil)
		wantAPIError(t, name+" GET payment", status, e, http.StatusNotFound, "id", "resource_missing")
		status, e = apiAs(t, key, "GET", "/v1/refunds/"+refundID, nil)
		wantAPIError(t, name+" GET refund", status, e, http.StatusNotFound, "id", "resource_missing")
		status, e = apiAs(t, key, "POST", "/v1/refunds", map[string]any{"payment": payID, "amount": 100})
		wantAPIError(t, name+" POST refund", status, e, http.StatusNotFound, "payment", "resource_missing")
		status, e = apiAs(t, key, "GET", "/v1/refunds?starting_after="+refundID, nil)
		wantAPIError(t, name+" refund cursor", status, e, http.StatusNotFound, "starting_after", "resource_missing")
		status, e = apiAs(t, key, "GET", "/v1/payments?starting_after="+payID, nil)
		wantAPIError(t, name+" payment cursor", status, e, http.StatusNotFound, "starting_after", "resource_missing")
		for _, path := range []string{"/v1/payments?limit=100", "/v1/refunds?limit=100&payment=" + payID} {
			_, list := apiAs(t, key, "GET", path, nil)
			for _, d := range list["data"].([]any) {
				if id := d.(map[string]any)["id"]; id == payID || id == refundID {
					t.Errorf("%s lists %s", name, id)
				}
			}
		}
	}
	if _, p := api(t, "GET", "/v1/payments/"+payID, nil); p["amount_refunded"] != 100.0 {
		t.Errorf("amount_refunded %v, want 100 (the refused ones changed it)", p["amount_refunded"])
	}
	status, e := api(t, "POST", "/v1/refunds", map[string]any{"payment": "pay_missing"})
	wantAPIError(t, "unknown payment", status, e, http.StatusNotFound, "payment", "resource_missing")
}

// TestConcurrentRefundsThroughTheStack: 20 partial refunds at once through
// the API, 20 × 150 asked of 2649: exactly 17 fit; the rest name amount.
func TestConcurrentRefundsThroughTheStack(t *testing.T) {
	_, payID := paidPayment(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	start := make(chan struct{})
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, r := api(t, "POST", "/v1/refunds", map[string]any{"payment": payID, "amount": 150})
			mu.Lock()
			defer mu.Unlock()
			e, _ := r["error"].(map[string]any)
			switch {
			case status == http.StatusOK && r["status"] == "succeeded":
				ok++
			case status == http.StatusBadRequest && e["param"] == "amount" && e["code"] == "amount_too_large":
				refused++
			default:
				t.Errorf("refund: %d %v", status, r)
			}
		}()
	}
	close(start)
	wg.Wait()
	_, p := api(t, "GET", "/v1/payments/"+payID, nil)
	if ok != 17 || refused != 3 || p["amount_refunded"] != 2550.0 || len(p["refunds"].([]any)) != 17 {
		t.Fatalf("%d refunded, %d refused, amount_refunded %v, %d refunds; want 17, 3, 2550, 17",
			ok, refused, p["amount_refunded"], len(p["refunds"].([]any)))
	}
}

func TestRefundEventsAreDeliveredAsWebhooks(t *testing.T) {
	r := newReceiver(t, 0)
	_, secret := createEndpoint(t, r.srv.URL+"/hooks", "payment.refunded", "refund.succeeded", "refund.failed")
	_, payID := paidPayment(t)
	_, ref := api(t, "POST", "/v1/refunds", map[string]any{"payment": payID, "amount": 500})
	eventually(t, "refund.succeeded to arrive", 30*time.Second, func() bool {
		for _, e := range r.accepted(t, secret, "refund.succeeded") {
			if obj := e["data"].(map[string]any)["object"].(map[string]any); obj["id"] == ref["id"] {
				return obj["object"] == "refund" && obj["status"] == "succeeded" && obj["amount"] == 500.0 && obj["payment"] == payID
			}
		}
		return false
	})
	eventually(t, "payment.refunded to arrive", 30*time.Second, func() bool {
		for _, e := range r.accepted(t, secret, "payment.refunded") {
			obj := e["data"].(map[string]any)["object"].(map[string]any)
			if obj["id"] == payID {
				return obj["amount_refunded"] == 500.0 && len(obj["refunds"].([]any)) == 1
			}
		}
		return false
	})
	// Only what the endpoint asked for.
	for _, d := range r.deliveries() {
		if strings.Contains(string(d.body), `"type":"payment.succeeded"`) {
			t.Errorf("payment.succeeded delivered to an endpoint without it")
		}
	}
	status, list := api(t, "GET", "/v1/events?type=refund.succeeded&limit=5", nil)
	if status != http.StatusOK || len(list["data"].([]any)) == 0 {
		t.Fatalf("events list: %d %v", status, list)
	}
}

func TestPaymentListFiltersAndCursors(t *testing.T) {
	var since string
	if err := queryRow(t, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')").Scan(&since); err != nil {
		t.Fatal(err)
	}
	var sessions, payments []string
	for range 3 {
		s, p := paidPayment(t)
		sessions, payments = append(sessions, s), append(payments, p)
	}
	created := "created[gte]=" + url.QueryEscape(since)
	ids := func(list map[string]any) []string {
		var out []string
		for _, d := range list["data"].([]any) {
			out = append(out, d.(map[string]any)["id"].(string))
		}
		return out
	}
	status, list := api(t, "GET", "/v1/payments?"+created, nil)
	if got := ids(list); status != http.StatusOK || list["object"] != "list" || strings.Join(got, ",") != strings.Join([]string{payments[2], payments[1], payments[0]}, ",") {
		t.Fatalf("list since %s: %d %v, want %v newest first", since, status, got, payments)
	}
	for _, q := range []string{"session=" + sessions[1], "checkout_session=" + sessions[1], "session=" + sessions[1] + "&checkout_session=" + sessions[1]} {
		if _, list := api(t, "GET", "/v1/payments?"+q, nil); strings.Join(ids(list), ",") != payments[1] {
			t.Errorf("%s: %v", q, ids(list))
		}
	}
	if _, list := api(t, "GET", "/v1/payments?status=failed&"+created, nil); len(ids(list)) != 0 {
		t.Errorf("status=failed: %v", ids(list))
	}
	if _, list := api(t, "GET", "/v1/payments?status=succeeded&"+created, nil); len(ids(list)) != 3 {
		t.Errorf("status=succeeded: %v", ids(list))
	}
	_, page := api(t, "GET", "/v1/payments?limit=2&"+created, nil)
	if got := ids(page); strings.Join(got, ",") != payments[2]+","+payments[1] || page["has_more"] != true {
		t.Fatalf("first page: %v %v", got, page["has_more"])
	}
	_, page = api(t, "GET", "/v1/payments?limit=2&starting_after="+payments[1]+"&"+created, nil)
	if got := ids(page); strings.Join(got, ",") != payments[0] || page["has_more"] != false {
		t.Fatalf("second page: %v %v", got, page["has_more"])
	}
	_, page = api(t, "GET", "/v1/payments?limit=1&ending_before="+payments[0]+"&"+created, nil)
	if got := ids(page); strings.Join(got, ",") != payments[1] || page["has_more"] != true {
		t.Fatalf("ending_before page: %v %v", got, page["has_more"])
	}
	for _, c := range []struct{ query, param string }{
		{"status=paid", "status"},
		{"limit=0", "limit"},
		{"session=" + sessions[0] + "&checkout_session=" + sessions[1], "checkout_session"},
		{"created[gte]=yesterday", "created[gte]"},
	} {
		status, e := api(t, "GET", "/v1/payments?"+c.query, nil)
		wantAPIError(t, c.query, status, e, http.StatusBadRequest, c.param, "")
	}
}

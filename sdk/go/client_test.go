package tillpoint

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestListQuery: list parameters become the API's query names, with
// created[…] bounds in RFC 3339 UTC and zero values left out.
func TestListQuery(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	got := (&CheckoutSessionListParams{
		ListParams: ListParams{Limit: 5, StartingAfter: "cs_1"},
		Status:     "open", AmountGTE: Int64(0), Created: CreatedFilter{GTE: at},
	}).values().Encode()
	want := "amount_gte=0&created%5Bgte%5D=2026-11-01T09%3A00%3A00Z&limit=5&starting_after=cs_1&status=open"
	if got != want {
		t.Errorf("query = %s, want %s", got, want)
	}
	if q := (*CheckoutSessionListParams)(nil).values(); len(q) != 0 {
		t.Errorf("nil params = %v", q)
	}
}

// TestErrorWithoutTheErrorShape: an answer that is not the API's JSON (a
// proxy's 502 page) is still an *Error, with the status and Retry-After.
func TestErrorWithoutTheErrorShape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer sk_test_x" || r.Header.Get("Idempotency-Key") != "k1" {
			t.Errorf("headers: %v", r.Header)
		}
		w.Header().Set("Retry-After", "5")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	}))
	defer srv.Close()
	c := New("sk_test_x", WithBaseURL(srv.URL+"/"))
	_, err := c.Refunds.Create(context.Background(), &RefundParams{Payment: "pay_1"}, WithIdempotencyKey("k1"))
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.HTTPStatus != http.StatusBadGateway || apiErr.Type != "api_error" || apiErr.RetryAfter != "5" {
		t.Fatalf("err = %#v", err)
	}
}

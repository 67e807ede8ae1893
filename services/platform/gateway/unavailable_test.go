package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// TestUnavailableSaysWhenToRetry: a 503 (a dependency down) carries
// Retry-After; other errors do not.
func TestUnavailableSaysWhenToRetry(t *testing.T) {
	for _, tt := range []struct {
		err   error
		retry bool
	}{
		{status.Error(codes.Unavailable, "A service is temporarily unavailable; please retry."), true},
		{&errs.Error{Kind: errs.Unavailable, Code: "unavailable", Message: "Down."}, true},
		{status.Error(codes.Internal, "x"), false},
		{errs.Missing("name"), false},
	} {
		w := httptest.NewRecorder()
		ErrorHandler(context.Background(), nil, nil, w, httptest.NewRequest("GET", "/v1/webhook_endpoints", nil), tt.err)
		if got := w.Header().Get("Retry-After"); (got != "") != tt.retry || (tt.retry && (w.Code != http.StatusServiceUnavailable || got != "5")) {
			t.Errorf("%v: %d Retry-After %q", tt.err, w.Code, got)
		}
	}
}

package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/freeport"
)

// databaseDown is the real error of a query to a PostgreSQL server that is
// not running.
func databaseDown(t *testing.T) error {
	t.Helper()
	port, err := freeport.Block(1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = pgconn.Connect(context.Background(), "postgres://tillpoint:SECRET@127.0.0.1:"+strconv.Itoa(port)+"/tillpoint?connect_timeout=5")
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	return err
}

// TestUnavailableSaysWhenToRetry: a 503 (a dependency down) carries
// Retry-After; other errors do not. A lost database connection that reaches
// a plain handler's WriteError, even wrapped as internal, is such a 503,
// masked.
func TestUnavailableSaysWhenToRetry(t *testing.T) {
	db := databaseDown(t)
	for _, tt := range []struct {
		err   error
		retry bool
	}{
		{status.Error(codes.Unavailable, "A service is temporarily unavailable; please retry."), true},
		{&errs.Error{Kind: errs.Unavailable, Code: "unavailable", Message: "Down."}, true},
		{db, true},
		{errs.Wrap(db, "issue token"), true},
		{errs.Wrap(errors.New("bug"), "issue token"), false},
		{status.Error(codes.Internal, "x"), false},
		{errs.Missing("name"), false},
	} {
		w := httptest.NewRecorder()
		ErrorHandler(context.Background(), nil, nil, w, httptest.NewRequest("GET", "/v1/webhook_endpoints", nil), tt.err)
		if got := w.Header().Get("Retry-After"); (got != "") != tt.retry || (tt.retry && (w.Code != http.StatusServiceUnavailable || got != "5")) {
			t.Errorf("%v: %d Retry-After %q", tt.err, w.Code, got)
		}
		if body := w.Body.String(); strings.Contains(body, "SECRET") || strings.Contains(body, "127.0.0.1") {
			t.Errorf("%v: the answer shows the cause: %s", tt.err, body)
		}
	}
}

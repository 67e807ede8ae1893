package grpcx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/logging"
)

// closedAddr is a loopback address where nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// outages returns real errors of dependencies that are down: a gRPC peer
// that is not running, one that does not answer in time, and a PostgreSQL
// server that is not running.
func outages(t *testing.T) map[string]error {
	t.Helper()
	ctx := context.Background()
	down, err := grpc.NewClient(closedAddr(t), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = down.Close() })
	_, downErr := healthpb.NewHealthClient(down).Check(ctx, &healthpb.HealthCheckRequest{})

	hung := grpc.NewServer()
	healthpb.RegisterHealthServer(hung, &healthServer{check: func(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}})
	slow, _ := startServer(t, hung)
	callCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, slowErr := healthpb.NewHealthClient(slow).Check(callCtx, &healthpb.HealthCheckRequest{})

	pool, err := pgxpool.New(ctx, "postgres://tillpoint:SECRET@"+closedAddr(t)+"/tillpoint?connect_timeout=5")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	_, dbErr := pool.Exec(ctx, "SELECT 1")

	return map[string]error{"peer down": downErr, "peer too slow": slowErr, "database down": dbErr}
}

// TestOutagesAreUnavailable: an unavailable dependency is a 503-class error
// (Unavailable), however it reaches the edge — from a forwarded call
// (DomainError) or returned by a handler, even wrapped as an internal error
// — and its details stay masked.
func TestOutagesAreUnavailable(t *testing.T) {
	for name, cause := range outages(t) {
		t.Run(name, func(t *testing.T) {
			if cause == nil {
				t.Fatal("the call did not fail")
			}
			if !Unavailable(cause) {
				t.Fatalf("Unavailable(%v) = false", cause)
			}
			for _, err := range []error{cause, fmt.Errorf("query: %w", cause), errs.Wrap(cause, "load session")} {
				if e, ok := errs.As(DomainError(err)); !ok || e.Kind != errs.Unavailable || strings.Contains(e.Message, "127.0.0.1") {
					t.Errorf("DomainError(%v) = %v, want a masked unavailable", err, e)
				}
				var buf bytes.Buffer
				_, got := callChain(context.Background(), Chain{Logger: logging.New(&buf, "info", "test")}, failWith(err))
				s := status.Convert(got)
				if s.Code() != codes.Unavailable || strings.Contains(s.Message(), "SECRET") || strings.Contains(s.Message(), "127.0.0.1") {
					t.Errorf("%v: status %v %q, want a masked Unavailable", err, s.Code(), s.Message())
				}
				if !strings.Contains(buf.String(), "error_id") {
					t.Errorf("the cause was not logged: %s", buf.String())
				}
			}
		})
	}
}

func TestNotOutages(t *testing.T) {
	for _, err := range []error{
		nil, errors.New("boom"), errs.Wrap(errors.New("bug"), "x"), errs.Missing("name"),
		status.Error(codes.Internal, "x"), status.Error(codes.InvalidArgument, "x"), context.Canceled,
		ErrorStatus(errs.NotFoundf("id", "No such thing.")).Err(),
	} {
		if Unavailable(err) {
			t.Errorf("Unavailable(%v) = true", err)
		}
	}
	// A Tillpoint service's own Unavailable status passes through unchanged.
	own := ErrorStatus(&errs.Error{Kind: errs.Unavailable, Code: "provider_down", Message: "The provider is down."}).Err()
	_, got := callChain(context.Background(), Chain{Logger: logging.New(&bytes.Buffer{}, "info", "test")}, failWith(own))
	if s := status.Convert(got); s.Code() != codes.Unavailable || s.Message() != "The provider is down." {
		t.Errorf("own status changed: %v", s)
	}
	if k := errs.KindOf(DomainError(own)); k != errs.Unavailable {
		t.Errorf("DomainError(own) kind %v", k)
	}
}

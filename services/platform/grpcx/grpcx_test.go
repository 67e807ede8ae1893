package grpcx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/logging"
)

const testMethod = "/tillpoint.test.v1.Test/Do"

// callChain runs handler behind the unary chain as a server would.
func callChain(ctx context.Context, c Chain, handler grpc.UnaryHandler) (any, error) {
	return c.Unary()(ctx, "req", &grpc.UnaryServerInfo{FullMethod: testMethod}, handler)
}

func failWith(err error) grpc.UnaryHandler {
	return func(context.Context, any) (any, error) { return nil, err }
}

func TestKindsRoundTrip(t *testing.T) {
	kinds := []errs.Kind{errs.Invalid, errs.NotFound, errs.Conflict, errs.Unauthenticated,
		errs.PermissionDenied, errs.FailedPrecondition, errs.RateLimited, errs.IdempotencyMismatch,
		errs.IdempotencyInFlight, errs.Unavailable}
	wantCode := map[errs.Kind]codes.Code{
		errs.Invalid: codes.InvalidArgument, errs.NotFound: codes.NotFound, errs.Conflict: codes.AlreadyExists,
		errs.Unauthenticated: codes.Unauthenticated, errs.PermissionDenied: codes.PermissionDenied,
		errs.FailedPrecondition: codes.FailedPrecondition, errs.RateLimited: codes.ResourceExhausted,
		errs.IdempotencyMismatch: codes.InvalidArgument, errs.IdempotencyInFlight: codes.Aborted,
		errs.Unavailable: codes.Unavailable,
	}
	for _, k := range kinds {
		t.Run(k.String(), func(t *testing.T) {
			in := &errs.Error{Kind: k, Code: "some_code", Param: "some_param", Message: "Some message.", Err: errors.New("cause")}
			_, err := callChain(context.Background(), Chain{Logger: slog.New(slog.DiscardHandler)}, failWith(fmt.Errorf("wrapped: %w", in)))
			s := status.Convert(err)
			if s.Code() != wantCode[k] || s.Message() != "Some message." {
				t.Fatalf("status %v %q", s.Code(), s.Message())
			}
			info, param := details(s)
			_, wantType := httpx.KindStatus(k)
			if info == nil || info.Reason != "some_code" || info.Domain != "tillpoint" || info.Metadata["type"] != wantType || param != "some_param" {
				t.Fatalf("details %v, param %q", info, param)
			}
			back, ok := errs.As(DomainError(err))
			if !ok || back.Kind != k || back.Code != "some_code" || back.Param != "some_param" || back.Message != "Some message." {
				t.Errorf("DomainError = %+v", back)
			}
		})
	}
}

func TestInternalErrorsAreMasked(t *testing.T) {
	tests := []struct {
		name string
		h    grpc.UnaryHandler
		code codes.Code
	}{
		{"internal kind", failWith(errs.Wrap(errors.New("pg: password=SECRET"), "insert")), codes.Internal},
		{"plain error", failWith(errors.New("SECRET dsn")), codes.Internal},
		{"foreign internal status", failWith(status.Error(codes.Internal, "SECRET stack")), codes.Internal},
		{"foreign unknown status", failWith(status.Error(codes.Unknown, "SECRET")), codes.Internal},
		{"foreign unavailable", failWith(status.Error(codes.Unavailable, "dial tcp 10.0.0.1:9000: SECRET")), codes.Unavailable},
		{"panic", func(context.Context, any) (any, error) { panic("SECRET panic") }, codes.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			c := Chain{Logger: logging.New(&buf, "info", "test")}
			_, err := callChain(context.Background(), c, tt.h)
			s := status.Convert(err)
			if s.Code() != tt.code || strings.Contains(s.Message(), "SECRET") {
				t.Fatalf("status %v %q", s.Code(), s.Message())
			}
			info, _ := details(s)
			id := info.GetMetadata()[MetaErrorID]
			if !strings.HasPrefix(id, "err_") || !strings.Contains(s.Message(), "(error id "+id) {
				t.Fatalf("no error id in %q / %v", s.Message(), info)
			}
			if tt.code == codes.Internal && s.Message() != httpx.InternalMessage(id) {
				t.Errorf("message %q", s.Message())
			}
			logged := buf.String()
			if !strings.Contains(logged, `"error_id":"`+id+`"`) || !strings.Contains(logged, "SECRET") {
				t.Errorf("cause not logged under %s: %s", id, logged)
			}
			if tt.name == "panic" && !strings.Contains(logged, `"stack":"goroutine`) {
				t.Errorf("panic stack not logged: %s", logged)
			}
		})
	}
}

func TestPassThrough(t *testing.T) {
	quiet := Chain{Logger: slog.New(slog.DiscardHandler)}
	downstream := ErrorStatus(errs.NotFoundf("endpoint", "No such webhook endpoint.")).Err()
	_, err := callChain(context.Background(), quiet, failWith(fmt.Errorf("calling hooks: %w", downstream)))
	if s := status.Convert(err); s.Code() != codes.NotFound || s.Message() != "No such webhook endpoint." {
		t.Errorf("downstream status changed: %v", s)
	}
	_, err = callChain(context.Background(), quiet, failWith(status.Error(codes.Unimplemented, "method Do not implemented")))
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("foreign status: %v", err)
	}
	_, err = callChain(context.Background(), quiet, failWith(fmt.Errorf("query: %w", context.Canceled)))
	if status.Code(err) != codes.Canceled {
		t.Errorf("context error: %v", err)
	}
	resp, err := callChain(context.Background(), quiet, func(context.Context, any) (any, error) { return "ok", nil })
	if resp != "ok" || err != nil {
		t.Errorf("success: %v %v", resp, err)
	}
}

// TestDomainErrorOfForeign: a status not made by Tillpoint is an internal
// error to domain code. (How statuses show over HTTP is the gateway's.)
func TestDomainErrorOfForeign(t *testing.T) {
	if err := DomainError(status.Error(codes.NotFound, "x")); errs.KindOf(err) != errs.Internal {
		t.Errorf("foreign status became %v", errs.KindOf(err))
	}
	if DomainError(nil) != nil {
		t.Error("DomainError(nil) != nil")
	}
}

func TestRequestIDAndLogging(t *testing.T) {
	var buf bytes.Buffer
	c := Chain{Logger: logging.New(&buf, "info", "test")}
	var seen string
	h := func(ctx context.Context, _ any) (any, error) { seen = logging.RequestID(ctx); return "ok", nil }

	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-request-id", "abc_123"))
	ctx = grpc.NewContextWithServerTransportStream(ctx, &inlineStream{method: testMethod})
	if _, err := callChain(ctx, c, h); err != nil || seen != "abc_123" {
		t.Fatalf("id from metadata: %q %v", seen, err)
	}
	stream := grpc.ServerTransportStreamFromContext(ctx).(*inlineStream)
	if got := stream.header.Get("x-request-id"); len(got) != 1 || got[0] != "abc_123" {
		t.Errorf("response header %v", stream.header)
	}
	if !strings.Contains(buf.String(), `"method":"`+testMethod+`"`) || !strings.Contains(buf.String(), `"code":"OK"`) ||
		!strings.Contains(buf.String(), `"request_id":"abc_123"`) || !strings.Contains(buf.String(), `"duration"`) {
		t.Errorf("log line: %s", buf.String())
	}

	ctx = metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-request-id", "bad id!"))
	if _, _ = callChain(ctx, c, h); !strings.HasPrefix(seen, "req_") {
		t.Errorf("invalid id kept: %q", seen)
	}
	ctx = logging.WithRequestID(context.Background(), "req_fromhttp")
	if _, _ = callChain(ctx, c, h); seen != "req_fromhttp" {
		t.Errorf("context id replaced: %q", seen)
	}
}

func TestChainOrder(t *testing.T) {
	var order []string
	tag := func(name string) grpc.UnaryServerInterceptor {
		return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			order = append(order, name)
			resp, err := h(ctx, req)
			order = append(order, name+":"+status.Code(err).String())
			return resp, err
		}
	}
	c := Chain{Logger: slog.New(slog.DiscardHandler), Outer: []grpc.UnaryServerInterceptor{tag("outer")},
		Inner: []grpc.UnaryServerInterceptor{tag("inner")}}
	_, _ = callChain(context.Background(), c, failWith(errs.Missing("x")))
	// Outer sees the mapped status; inner sees the raw domain error (Unknown to status.Code).
	want := "outer inner inner:Unknown outer:InvalidArgument"
	if got := strings.Join(order, " "); got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

// healthServer is a tiny service to test with.
type healthServer struct {
	healthpb.UnimplementedHealthServer
	check func(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error)
}

func (h *healthServer) Check(ctx context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	return h.check(ctx, r)
}

func TestInlineConn(t *testing.T) {
	var buf bytes.Buffer
	conn := NewInlineConn(Chain{Logger: logging.New(&buf, "info", "test")}.Unary())
	var gotMD metadata.MD
	var gotReq *healthpb.HealthCheckRequest
	resp := &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}
	healthpb.RegisterHealthServer(conn, &healthServer{check: func(ctx context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		gotMD, _ = metadata.FromIncomingContext(ctx)
		if out, _ := metadata.FromOutgoingContext(ctx); len(out) != 0 {
			t.Errorf("caller's outgoing metadata leaked to the server: %v", out)
		}
		if m, _ := grpc.Method(ctx); m != healthpb.Health_Check_FullMethodName {
			t.Errorf("grpc.Method = %q", m)
		}
		gotReq = r
		if err := grpc.SetHeader(ctx, metadata.Pairs("x-h", "1")); err != nil {
			t.Error(err)
		}
		if err := grpc.SetTrailer(ctx, metadata.Pairs("x-t", "2")); err != nil {
			t.Error(err)
		}
		switch r.Service {
		case "missing":
			return nil, errs.NotFoundf("service", "No such service.")
		case "panic":
			panic("SECRET")
		}
		return resp, nil
	}})
	if err := conn.Err(); err != nil {
		t.Fatal(err)
	}
	client := healthpb.NewHealthClient(conn)

	req := &healthpb.HealthCheckRequest{Service: "payments"}
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer sk_test_x")
	ctx = logging.WithRequestID(ctx, "req_inline")
	var header, trailer metadata.MD
	out, err := client.Check(ctx, req, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != healthpb.HealthCheckResponse_SERVING || out == resp {
		t.Errorf("response %v not copied", out)
	}
	if gotReq == req || gotReq.Service != "payments" {
		t.Errorf("request not copied: %p %p %v", gotReq, req, gotReq)
	}
	if v := gotMD.Get("authorization"); len(v) != 1 || v[0] != "Bearer sk_test_x" {
		t.Errorf("incoming metadata %v", gotMD)
	}
	if header.Get("x-h")[0] != "1" || trailer.Get("x-t")[0] != "2" || len(header.Get("x-request-id")) != 0 {
		t.Errorf("header %v trailer %v", header, trailer)
	}
	if strings.Contains(buf.String(), "grpc request") {
		t.Errorf("an inline call was logged; REST calls get one line, from the HTTP access log: %s", buf.String())
	}

	// Errors go through the same mapping, and headers still arrive.
	header = nil
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "missing"}, grpc.Header(&header))
	if info, param := details(status.Convert(err)); status.Code(err) != codes.NotFound || info.GetReason() != "resource_missing" ||
		param != "service" || header.Get("x-h") == nil {
		t.Errorf("not found: %v %v %s %v", err, info, param, header)
	}
	_, err = client.Check(ctx, &healthpb.HealthCheckRequest{Service: "panic"})
	if status.Code(err) != codes.Internal || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("panic: %v", err)
	}

	// List is not implemented by the test server, Watch is a stream, Foo does not exist.
	if _, err := client.List(ctx, &healthpb.HealthListRequest{}); status.Code(err) != codes.Unimplemented {
		t.Errorf("List: %v", err)
	}
	if _, err := client.Watch(ctx, req); status.Code(err) != codes.Unimplemented {
		t.Errorf("Watch: %v", err)
	}
	if err := conn.Invoke(ctx, "/x.Y/Foo", req, out); status.Code(err) != codes.Unimplemented {
		t.Errorf("unknown method: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := client.Check(cctx, req); status.Code(err) != codes.Canceled {
		t.Errorf("cancelled: %v", err)
	}
	if err := conn.Invoke(ctx, healthpb.Health_Check_FullMethodName, req, &healthpb.HealthListResponse{}); status.Code(err) != codes.Internal {
		t.Errorf("wrong reply type: %v", err)
	}
}

func TestInlineConnRegistrationErrors(t *testing.T) {
	conn := NewInlineConn(nil)
	conn.RegisterService(&healthpb.Health_ServiceDesc, struct{}{})
	if conn.Err() == nil {
		t.Error("wrong implementation accepted")
	}
	conn = NewInlineConn(nil)
	healthpb.RegisterHealthServer(conn, &healthServer{})
	healthpb.RegisterHealthServer(conn, &healthServer{})
	if conn.Err() == nil {
		t.Error("duplicate registration accepted")
	}
}

// startServer serves srv on an in-memory listener and returns a client
// connection built with opts.
func startServer(t *testing.T, srv *grpc.Server, opts ...grpc.DialOption) (*grpc.ClientConn, *bufconn.Listener) {
	t.Helper()
	ln := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, srv, ln, 0) }()
	opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	cc, err := grpc.NewClient("passthrough:///bufnet", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cc.Close()
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return cc, ln
}

func TestInternalAuth(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	var seenID string
	const previous = "fedcba9876543210fedcba9876543210"
	newServer := func(toks []string) *grpc.Server {
		c := Chain{Logger: slog.New(slog.DiscardHandler), Inner: []grpc.UnaryServerInterceptor{InternalAuth(toks...)},
			InnerStream: []grpc.StreamServerInterceptor{InternalAuthStream(toks...)}}
		srv := grpc.NewServer(c.ServerOptions()...)
		healthpb.RegisterHealthServer(srv, &healthServer{check: func(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
			seenID = logging.RequestID(ctx)
			return &healthpb.HealthCheckResponse{}, nil
		}})
		return srv
	}
	tests := []struct {
		name   string
		server []string
		opts   []grpc.DialOption
		want   codes.Code
	}{
		{"right token", []string{token}, []grpc.DialOption{grpc.WithPerRPCCredentials(InternalToken(token))}, codes.OK},
		{"wrong token", []string{token}, []grpc.DialOption{grpc.WithPerRPCCredentials(InternalToken(token + "x"))}, codes.Unauthenticated},
		{"no token", []string{token}, nil, codes.Unauthenticated},
		{"empty configured token", []string{""}, []grpc.DialOption{grpc.WithPerRPCCredentials(InternalToken(""))}, codes.Unauthenticated},
		// A rotation: the server accepts the previous token beside its own.
		{"previous token accepted", []string{token, previous}, []grpc.DialOption{grpc.WithPerRPCCredentials(InternalToken(previous))}, codes.OK},
		{"current token beside the previous", []string{token, previous}, []grpc.DialOption{grpc.WithPerRPCCredentials(InternalToken(token))}, codes.OK},
		{"previous token once retired", []string{token}, []grpc.DialOption{grpc.WithPerRPCCredentials(InternalToken(previous))}, codes.Unauthenticated},
		{"empty token sent to an empty accepted one", []string{token, ""}, []grpc.DialOption{grpc.WithPerRPCCredentials(InternalToken(""))}, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append(tt.opts, grpc.WithChainUnaryInterceptor(PropagateRequestID()))
			cc, _ := startServer(t, newServer(tt.server), opts...)
			ctx := logging.WithRequestID(context.Background(), "req_chain")
			_, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
			if status.Code(err) != tt.want {
				t.Fatalf("code %v, want %v (%v)", status.Code(err), tt.want, err)
			}
			if tt.want == codes.OK && seenID != "req_chain" {
				t.Errorf("request id not propagated: %q", seenID)
			}
			if tt.want != codes.OK {
				if info, _ := details(status.Convert(err)); info.GetMetadata()[MetaType] != "authentication_error" {
					t.Errorf("error details %v; want type authentication_error", info)
				}
			}
		})
	}
}

// closeNotifyListener reports when the server closes it: GracefulStop
// closes listeners before it waits for in-flight calls.
type closeNotifyListener struct {
	net.Listener
	closed chan struct{}
}

func (l *closeNotifyListener) Close() error {
	err := l.Listener.Close()
	select {
	case <-l.closed:
	default:
		close(l.closed)
	}
	return err
}

func TestServeGracefulStop(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, &healthServer{check: func(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		close(started)
		<-release
		return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
	}})
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &closeNotifyListener{Listener: inner, closed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, srv, ln, 0) }()

	cc, err := grpc.NewClient(inner.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	result := make(chan error, 1)
	go func() {
		resp, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.Status != healthpb.HealthCheckResponse_SERVING {
			err = fmt.Errorf("status %v", resp.Status)
		}
		result <- err
	}()
	<-started
	cancel()
	<-ln.closed
	if c, err := net.Dial("tcp", inner.Addr().String()); err == nil {
		c.Close()
		t.Error("new connection accepted while stopping")
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned with a call in flight: %v", err)
	default:
	}
	close(release)
	if err := <-result; err != nil {
		t.Errorf("in-flight call: %v", err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
}

func TestServeStopTimeout(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	defer close(release)
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, &healthServer{check: func(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
		close(started)
		<-release
		return &healthpb.HealthCheckResponse{}, nil
	}})
	ln := bufconn.Listen(1 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, srv, ln, 1) }()
	cc, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	result := make(chan error, 1)
	go func() {
		_, err := healthpb.NewHealthClient(cc).Check(context.Background(), &healthpb.HealthCheckRequest{})
		result <- err
	}()
	<-started
	cancel()
	if err := <-served; err == nil {
		t.Error("Serve returned nil after the timeout")
	}
	if err := <-result; status.Code(err) != codes.Unavailable {
		t.Errorf("in-flight call: %v, want Unavailable", err)
	}
}

func TestSingleMetadata(t *testing.T) {
	c := Chain{Logger: slog.New(slog.DiscardHandler), Inner: []grpc.UnaryServerInterceptor{SingleMetadata("authorization", "idempotency-key")}}
	ok := func(context.Context, any) (any, error) { return "ok", nil }
	for _, tt := range []struct {
		pairs []string
		field string // "" when the call goes through
	}{
		{[]string{"authorization", "Bearer a"}, ""},
		{[]string{"authorization", "Bearer a", "idempotency-key", "k", "x-other", "1", "x-other", "2"}, ""},
		{[]string{"authorization", "Bearer a", "authorization", "Bearer a"}, "Authorization"},
		{[]string{"authorization", "Bearer a", "authorization", "Bearer b"}, "Authorization"},
		{[]string{"idempotency-key", "k", "idempotency-key", "k"}, "Idempotency-Key"},
	} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(tt.pairs...))
		_, err := callChain(ctx, c, ok)
		if tt.field == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.pairs, err)
			}
			continue
		}
		st := status.Convert(err)
		info, param := details(st)
		if st.Code() != codes.InvalidArgument || param != tt.field || info.GetReason() != "header_duplicate" {
			t.Errorf("%q: %v (param %q, info %v), want InvalidArgument naming %s", tt.pairs, err, param, info, tt.field)
		}
	}
}

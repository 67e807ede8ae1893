package grpcx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/logging"
)

// RequestIDKey is the metadata key carrying the request id, both ways.
const RequestIDKey = "x-request-id"

// Chain is the interceptor chain of a gRPC server and of the InlineConn that
// grpc-gateway calls, so REST and gRPC requests are handled alike. A request
// passes, outermost first, through:
//
//	request id → logging → Outer… → error mapping → panic recovery → Inner… → handler
//
// Outer interceptors (metrics) see the final status of every call. Inner
// interceptors (authentication, …) may return a *errs.Error or panic, like
// handlers: both are mapped.
type Chain struct {
	// Logger receives the per-call log lines and masked internal errors;
	// slog.Default() when nil. Use one from logging.New so that lines carry
	// the request id.
	Logger *slog.Logger
	// Outer and Inner are the service's own unary interceptors.
	Outer, Inner []grpc.UnaryServerInterceptor
	// OuterStream and InnerStream are their streaming counterparts.
	OuterStream, InnerStream []grpc.StreamServerInterceptor
}

func (c Chain) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.Default()
	}
	return c.Logger
}

// Unary returns the chain as one unary interceptor, for NewInlineConn.
func (c Chain) Unary() grpc.UnaryServerInterceptor {
	log := c.logger()
	all := []grpc.UnaryServerInterceptor{unaryRequestID, unaryLog(log)}
	all = append(all, c.Outer...)
	all = append(all, unaryMapErrors(log), unaryRecover)
	all = append(all, c.Inner...)
	return ChainUnary(all...)
}

// Stream returns the chain as one stream interceptor.
func (c Chain) Stream() grpc.StreamServerInterceptor {
	log := c.logger()
	all := []grpc.StreamServerInterceptor{streamRequestID, streamLog(log)}
	all = append(all, c.OuterStream...)
	all = append(all, streamMapErrors(log), streamRecover)
	all = append(all, c.InnerStream...)
	return ChainStream(all...)
}

// ServerOptions returns the options installing the chain on a grpc.Server.
func (c Chain) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.UnaryInterceptor(c.Unary()), grpc.StreamInterceptor(c.Stream())}
}

// ChainUnary composes interceptors into one; the first is the outermost.
func ChainUnary(ints ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, final grpc.UnaryHandler) (any, error) {
		h := final
		for i := len(ints) - 1; i >= 0; i-- {
			ic, next := ints[i], h
			h = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, next) }
		}
		return h(ctx, req)
	}
}

// ChainStream composes stream interceptors into one; the first is the outermost.
func ChainStream(ints ...grpc.StreamServerInterceptor) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, final grpc.StreamHandler) error {
		h := final
		for i := len(ints) - 1; i >= 0; i-- {
			ic, next := ints[i], h
			h = func(srv any, ss grpc.ServerStream) error { return ic(srv, ss, info, next) }
		}
		return h(srv, ss)
	}
}

// withRequestID makes sure ctx has a request id: the one already in it (set
// by httpx.RequestID when the call came through grpc-gateway), else a valid
// one from the x-request-id metadata, else a new one. fresh reports that the
// id was not in ctx, so the caller should be told it in a response header.
func withRequestID(ctx context.Context) (_ context.Context, id string, fresh bool) {
	if id := logging.RequestID(ctx); id != "" {
		return ctx, id, false
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get(RequestIDKey); len(v) > 0 && httpx.ValidRequestID(v[0]) {
		id = v[0]
	} else {
		id = httpx.NewRequestID()
	}
	return logging.WithRequestID(ctx, id), id, true
}

func unaryRequestID(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	ctx, id, fresh := withRequestID(ctx)
	if fresh {
		_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDKey, id))
	}
	return h(ctx, req)
}

func streamRequestID(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	ctx, id, fresh := withRequestID(ss.Context())
	if fresh {
		_ = ss.SetHeader(metadata.Pairs(RequestIDKey, id))
	}
	return h(srv, &ctxStream{ServerStream: ss, ctx: ctx})
}

// ctxStream replaces a stream's context.
type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }

func logCall(ctx context.Context, log *slog.Logger, method string, start time.Time, err error) {
	log.LogAttrs(ctx, slog.LevelInfo, "grpc request",
		slog.String("method", method),
		slog.String("code", status.Code(err).String()),
		slog.Duration("duration", time.Since(start)),
	)
}

func unaryLog(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := h(ctx, req)
		if !isInline(ctx) { // a REST request gets one line, from the HTTP access log
			logCall(ctx, log, info.FullMethod, start, err)
		}
		return resp, err
	}
}

func streamLog(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		start := time.Now()
		err := h(srv, ss)
		logCall(ss.Context(), log, info.FullMethod, start, err)
		return err
	}
}

// panicError carries a recovered panic to the error mapping, which masks
// and logs it.
type panicError struct {
	value any
	stack []byte
}

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.value) }

func unaryRecover(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if v := recover(); v != nil {
			resp, err = nil, &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return h(ctx, req)
}

func streamRecover(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v, stack: debug.Stack()}
		}
	}()
	return h(srv, ss)
}

func unaryMapErrors(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		if err != nil {
			return nil, mapError(ctx, log, info.FullMethod, err)
		}
		return resp, nil
	}
}

func streamMapErrors(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := h(srv, ss); err != nil {
			return mapError(ss.Context(), log, info.FullMethod, err)
		}
		return nil
	}
}

// mapError turns a handler's error into the status the caller sees:
//   - a *errs.Error → ErrorStatus, unless its kind is Internal;
//   - a status made by Tillpoint (from a downstream service) → unchanged;
//   - another status → unchanged, except Unknown, Internal, DataLoss and
//     Unavailable, whose text may hold internals: masked as below;
//   - an outage (Unavailable: a peer down or too slow, a lost database
//     connection), even wrapped as Internal → Unavailable, masked as below;
//   - context.Canceled → Canceled;
//   - anything else (and Internal kinds, panics) → Internal "An internal error
//     occurred (error id err_…)." with the real error logged under that id.
func mapError(ctx context.Context, log *slog.Logger, method string, err error) error {
	if errs.KindOf(err) == errs.Internal && !ours(err) && Unavailable(err) {
		return mask(ctx, log, method, codes.Unavailable, err)
	}
	if e, ok := errs.As(err); ok {
		if e.Kind != errs.Internal {
			return ErrorStatus(e).Err()
		}
		return mask(ctx, log, method, codes.Internal, err)
	}
	if _, isPanic := errors.AsType[*panicError](err); !isPanic {
		if s, ok := statusOf(err); ok {
			if info, _ := details(s); info != nil {
				return s.Err()
			}
			switch s.Code() {
			case codes.Unknown, codes.Internal, codes.DataLoss:
			case codes.Unavailable:
				return mask(ctx, log, method, codes.Unavailable, err)
			default:
				return s.Err()
			}
		}
	}
	return mask(ctx, log, method, codes.Internal, err)
}

// ours reports whether err carries a status made by a Tillpoint service.
func ours(err error) bool {
	if s, ok := statusOf(err); ok {
		info, _ := details(s)
		return info != nil
	}
	return false
}

// mask logs err under a new error id and returns a status with code c that
// shows only the id.
func mask(ctx context.Context, log *slog.Logger, method string, c codes.Code, err error) error {
	id := httpx.NewErrorID()
	attrs := []slog.Attr{
		slog.String("error_id", id),
		slog.String("method", method),
		slog.String("error", err.Error()),
	}
	if p, ok := errors.AsType[*panicError](err); ok {
		attrs = append(attrs, slog.String("stack", string(p.stack)))
	}
	log.LogAttrs(ctx, slog.LevelError, "internal error", attrs...)
	s := internalStatus(c, id)
	if c == codes.Unavailable {
		s = withDetails(c, fmt.Sprintf("A service is temporarily unavailable; please retry (error id %s).", id),
			"unavailable", httpx.TypeAPI, "", map[string]string{MetaErrorID: id})
	}
	return s.Err()
}

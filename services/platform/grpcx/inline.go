package grpcx

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// InlineConn is an in-process grpc.ClientConnInterface: a call made through a
// client built on it (pb.NewXxxClient(conn)) runs the implementation
// registered on it through the server's interceptor chain, without network
// or serialisation. It lets grpc-gateway serve REST with the same
// interceptors as gRPC:
//
//	conn := grpcx.NewInlineConn(chain.Unary())
//	pb.RegisterXxxServer(conn, impl) // as on the grpc.Server
//	if err := conn.Err(); err != nil { … }
//	pb.RegisterXxxHandlerClient(ctx, gwmux, pb.NewXxxClient(conn))
//
// The caller's outgoing metadata becomes the handler's incoming metadata;
// headers and trailers the handler sets (grpc.SetHeader, grpc.SetTrailer)
// are returned through the grpc.Header and grpc.Trailer call options.
// Request and response are deep-copied, so neither side sees the other's
// later changes. Only unary methods are supported; streams are Unimplemented.
type InlineConn struct {
	interceptor grpc.UnaryServerInterceptor

	mu      sync.RWMutex
	methods map[string]inlineMethod // by full method name, "/pkg.Service/Method"
	errs    []error
}

type inlineMethod struct {
	impl    any
	handler grpc.MethodHandler
}

var _ grpc.ClientConnInterface = (*InlineConn)(nil)
var _ grpc.ServiceRegistrar = (*InlineConn)(nil)

// NewInlineConn returns an empty InlineConn whose calls run through
// interceptor (none when nil).
func NewInlineConn(interceptor grpc.UnaryServerInterceptor) *InlineConn {
	return &InlineConn{interceptor: interceptor, methods: map[string]inlineMethod{}}
}

// RegisterService registers impl's unary methods, as grpc.Server does; the
// generated pb.RegisterXxxServer functions call it. A registration error
// (impl not implementing the service, a service registered twice) is kept
// for Err rather than panicking.
func (c *InlineConn) RegisterService(desc *grpc.ServiceDesc, impl any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if impl == nil {
		c.errs = append(c.errs, fmt.Errorf("grpcx: inline: nil implementation of %s", desc.ServiceName))
		return
	}
	if desc.HandlerType == nil {
		c.errs = append(c.errs, fmt.Errorf("grpcx: inline: %s has no handler type", desc.ServiceName))
		return
	}
	if ht := reflect.TypeOf(desc.HandlerType).Elem(); !reflect.TypeOf(impl).Implements(ht) {
		c.errs = append(c.errs, fmt.Errorf("grpcx: inline: %T does not implement %s", impl, ht))
		return
	}
	for _, m := range desc.Methods {
		name := "/" + desc.ServiceName + "/" + m.MethodName
		if _, dup := c.methods[name]; dup {
			c.errs = append(c.errs, fmt.Errorf("grpcx: inline: %s registered twice", desc.ServiceName))
			return
		}
	}
	for _, m := range desc.Methods {
		c.methods["/"+desc.ServiceName+"/"+m.MethodName] = inlineMethod{impl: impl, handler: m.Handler}
	}
}

// Err reports the registration errors, if any; check it after registering.
func (c *InlineConn) Err() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return errors.Join(c.errs...)
}

// Invoke runs a unary method. It implements grpc.ClientConnInterface.
func (c *InlineConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	c.mu.RLock()
	m, ok := c.methods[method]
	c.mu.RUnlock()
	if !ok {
		return status.Errorf(codes.Unimplemented, "unknown method %s", method)
	}
	in, inOK := args.(proto.Message)
	out, outOK := reply.(proto.Message)
	if !inOK || !outOK {
		return status.Errorf(codes.Internal, "grpcx: inline: %s: request and reply must be proto messages", method)
	}
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}

	md, _ := metadata.FromOutgoingContext(ctx)
	sctx := metadata.NewIncomingContext(ctx, md.Copy())
	sctx = metadata.NewOutgoingContext(sctx, nil) // a server starts with no outgoing metadata
	stream := &inlineStream{method: method}
	sctx = grpc.NewContextWithServerTransportStream(sctx, stream)
	sctx = context.WithValue(sctx, inlineKey{}, true)

	dec := func(v any) error {
		dst, ok := v.(proto.Message)
		if !ok || !sameType(dst, in) {
			return status.Errorf(codes.Internal, "grpcx: inline: %s: request is %T, not %T", method, in, v)
		}
		proto.Merge(dst, in)
		return nil
	}
	resp, err := m.handler(m.impl, sctx, dec, c.interceptor)
	stream.deliver(opts)
	if err != nil {
		// As grpc.Server does: keep a status, or make one.
		s, ok := status.FromError(err)
		if !ok {
			s = status.FromContextError(err)
		}
		return s.Err()
	}
	r, ok := resp.(proto.Message)
	if !ok || !sameType(r, out) {
		return status.Errorf(codes.Internal, "grpcx: inline: %s: response is %T, not %T", method, resp, reply)
	}
	proto.Reset(out)
	proto.Merge(out, r)
	return nil
}

// NewStream implements grpc.ClientConnInterface; InlineConn has no streams.
func (c *InlineConn) NewStream(_ context.Context, _ *grpc.StreamDesc, method string, _ ...grpc.CallOption) (grpc.ClientStream, error) {
	return nil, status.Errorf(codes.Unimplemented, "grpcx: inline: streaming method %s is not supported", method)
}

func sameType(a, b proto.Message) bool {
	return a != nil && b != nil && a.ProtoReflect().Descriptor().FullName() == b.ProtoReflect().Descriptor().FullName()
}

// inlineStream is the grpc.ServerTransportStream of an inline call: it
// collects the headers and trailers the handler sets.
type inlineStream struct {
	method string

	mu         sync.Mutex
	header     metadata.MD
	trailer    metadata.MD
	headerSent bool
}

var _ grpc.ServerTransportStream = (*inlineStream)(nil)

// errHeaderSent mirrors grpc.Server's refusal to change sent headers.
var errHeaderSent = status.Error(codes.Internal, "transport: the stream is done or WriteHeader was already called")

// Method returns the full method name, for grpc.Method.
func (s *inlineStream) Method() string { return s.method }

// SetHeader adds to the response header, until it is sent.
func (s *inlineStream) SetHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headerSent {
		return errHeaderSent
	}
	s.header = metadata.Join(s.header, md)
	return nil
}

// SendHeader adds to the response header and marks it sent.
func (s *inlineStream) SendHeader(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headerSent {
		return errHeaderSent
	}
	s.header = metadata.Join(s.header, md)
	s.headerSent = true
	return nil
}

// SetTrailer adds to the response trailer.
func (s *inlineStream) SetTrailer(md metadata.MD) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trailer = metadata.Join(s.trailer, md)
	return nil
}

// deliver fills the grpc.Header and grpc.Trailer call options.
func (s *inlineStream) deliver(opts []grpc.CallOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.headerSent = true // late SetHeader calls (from stray goroutines) now fail, as with grpc.Server
	for _, o := range opts {
		switch o := o.(type) {
		case grpc.HeaderCallOption:
			*o.HeaderAddr = s.header.Copy()
		case grpc.TrailerCallOption:
			*o.TrailerAddr = s.trailer.Copy()
		}
	}
}

type inlineKey struct{}

// isInline reports whether a server call came through an InlineConn: a REST
// request, which its HTTP access log records.
func isInline(ctx context.Context) bool {
	v, _ := ctx.Value(inlineKey{}).(bool)
	return v
}

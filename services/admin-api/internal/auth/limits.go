package auth

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tillpoint/tillpoint/services/platform/config"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
)

// Limits are the merchant API's rate limits. They are kept in memory by each
// replica: with N replicas behind a load balancer a client may get up to N
// times each rate. A nil limiter does not limit.
type Limits struct {
	// AuthFailuresPerAddr counts failed authentications (missing, malformed,
	// unknown or revoked key) per client address. While an address has none
	// left, all its requests are refused before their key is looked at, so
	// guessing keys (and the lookups it costs) is bounded.
	AuthFailuresPerAddr *ratelimit.Limiter
	// WritesPerKey and WritesPerAddr count the authenticated writes (every
	// method that is not an HTTP GET) per API key and per client address.
	WritesPerKey, WritesPerAddr *ratelimit.Limiter
	// ReadsPerKey counts the authenticated reads per API key.
	ReadsPerKey *ratelimit.Limiter
}

// LimitConfig are the rates of Limits; a zero config.Rate disables one.
type LimitConfig struct {
	AuthFailuresPerAddr, WritesPerKey, WritesPerAddr, ReadsPerKey config.Rate
	// MaxTracked bounds the keys or addresses each limiter remembers
	// (ratelimit.DefaultMaxKeys when 0).
	MaxTracked int
}

// NewLimits makes the limiters of c.
func NewLimits(c LimitConfig) Limits {
	mk := func(r config.Rate) *ratelimit.Limiter { return ratelimit.New(r.PerSecond, r.Burst, c.MaxTracked) }
	return Limits{AuthFailuresPerAddr: mk(c.AuthFailuresPerAddr), WritesPerKey: mk(c.WritesPerKey),
		WritesPerAddr: mk(c.WritesPerAddr), ReadsPerKey: mk(c.ReadsPerKey)}
}

// beforeAuth refuses an address that has used up its failed authentications.
func (l Limits) beforeAuth(ctx context.Context, addr string) error {
	if ok, retry := l.AuthFailuresPerAddr.Check(addr); !ok {
		return rateLimited(ctx, retry, "Too many requests with an invalid API key from this address.")
	}
	return nil
}

// authFailed counts a failed authentication. The failure takes a token
// atomically, so concurrent failures are never answered 401 more times than
// the limit allows: the excess is answered 429 instead.
func (l Limits) authFailed(ctx context.Context, addr string, authErr error) error {
	if errs.KindOf(authErr) != errs.Unauthenticated {
		return authErr // an outage is not the client's failure
	}
	if ok, retry := l.AuthFailuresPerAddr.Allow(addr); !ok {
		return rateLimited(ctx, retry, "Too many requests with an invalid API key from this address.")
	}
	return authErr
}

// request counts an authenticated call.
func (l Limits) request(ctx context.Context, method string, p Principal, addr string) error {
	if !isWrite(method) {
		if ok, retry := l.ReadsPerKey.Allow(p.limitKey()); !ok {
			return rateLimited(ctx, retry, "Too many read requests with this API key.")
		}
		return nil
	}
	if ok, retry := l.WritesPerKey.Allow(p.limitKey()); !ok {
		return rateLimited(ctx, retry, "Too many write requests with this API key.")
	}
	if ok, retry := l.WritesPerAddr.Allow(addr); !ok {
		return rateLimited(ctx, retry, "Too many write requests from this address.")
	}
	return nil
}

// rateLimited is the 429 answer: rate_limit_error / rate_limited, with the
// wait in whole seconds as the retry-after header (Retry-After in REST) and,
// for gRPC clients, as an errdetails.RetryInfo.
func rateLimited(ctx context.Context, retry time.Duration, msg string) error {
	secs := max(1, int(math.Ceil(retry.Seconds())))
	_ = grpc.SetHeader(ctx, metadata.Pairs(gateway.MetadataRetryAfter, strconv.Itoa(secs)))
	st := grpcx.ErrorStatus(errs.E(errs.RateLimited, "rate_limited", fmt.Sprintf("%s Retry after %d s.", msg, secs)))
	if ds, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)}); err == nil {
		st = ds
	}
	return st.Err()
}

// writes caches isWrite by full method name.
var writes sync.Map

// isWrite reports whether a method ("/pkg.Service/Method") changes
// something: its REST binding is not a GET. A method without a binding
// counts as a write, the safe side.
func isWrite(fullMethod string) bool {
	if w, ok := writes.Load(fullMethod); ok {
		return w.(bool)
	}
	w := true
	name := protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(fullMethod, "/"), "/", "."))
	if d, err := protoregistry.GlobalFiles.FindDescriptorByName(name); err == nil {
		if m, ok := d.(protoreflect.MethodDescriptor); ok {
			if rule, ok := proto.GetExtension(m.Options(), annotations.E_Http).(*annotations.HttpRule); ok && rule != nil {
				w = rule.GetGet() == ""
			}
		}
	}
	writes.Store(fullMethod, w)
	return w
}

// clientAddr is the address the call came from: for REST, the one the HTTP
// edge derived (httpx.ClientAddrs); for gRPC, the peer, or — when the peer
// is a trusted proxy — what its x-forwarded-for or forwarded metadata says.
func clientAddr(ctx context.Context, trusted *httpx.TrustedProxies) netip.Addr {
	if a, ok := httpx.ClientAddrFromContext(ctx); ok {
		return a
	}
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return netip.Addr{}
	}
	md, _ := metadata.FromIncomingContext(ctx)
	h := http.Header{}
	for _, k := range []string{"X-Forwarded-For", "Forwarded"} {
		for _, v := range md.Get(k) {
			h.Add(k, v)
		}
	}
	return trusted.ClientAddr(p.Addr.String(), h)
}

package gateway

import (
	"context"
	"net/http"
	"strconv"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// incomingHeader forwards the request headers the handlers read, and no
// other: a caller must not be able to set internal metadata. grpc-gateway
// itself always forwards Authorization (as "authorization"; matching it here
// too would send it twice), X-Forwarded-For and X-Forwarded-Host.
func incomingHeader(key string) (string, bool) {
	switch key { // canonical form, as grpc-gateway passes it
	case "Idempotency-Key":
		return MetadataIdempotencyKey, true
	case "X-Request-Id":
		return MetadataRequestIDIn, true
	}
	return "", false
}

// outgoingHeader turns the public response metadata into headers; every
// other key (x-http-code among them) stays internal.
func outgoingHeader(key string) (string, bool) {
	switch key {
	case MetadataRequestID:
		return "Request-Id", true
	case MetadataIdempotentReplayed:
		return "Idempotent-Replayed", true
	case MetadataRetryAfter:
		return "Retry-After", true
	}
	return "", false
}

// noTrailers keeps gRPC trailers out of HTTP responses.
func noTrailers(string) (string, bool) { return "", false }

// copyResponseHeaders sets the public headers from response metadata, for
// the error handler (grpc-gateway does it itself for successes).
func copyResponseHeaders(h http.Header, md metadata.MD) {
	for k, vs := range md {
		if name, ok := outgoingHeader(k); ok {
			for _, v := range vs {
				h.Add(name, v)
			}
		}
	}
}

// forwardHTTPCode sets the status of a successful response from the
// handler's `x-http-code` metadata. Only 2xx values are honoured: errors go
// through statuses, and a malformed value must not turn a completed request
// into a failure.
func forwardHTTPCode(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	md, ok := runtime.ServerMetadataFromContext(ctx)
	if !ok {
		return nil
	}
	vals := md.HeaderMD.Get(MetadataHTTPCode)
	if len(vals) == 0 {
		return nil
	}
	code, err := strconv.Atoi(vals[len(vals)-1])
	if err != nil || code < 200 || code > 299 {
		return nil
	}
	w.WriteHeader(code)
	return nil
}

package gateway

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/tillpoint/tillpoint/services/platform/errs"
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
	case "X-Api-Key", "X-Api-Secret":
		// The key-pair credential form (an API key's id and secret,
		// PayPorter's headers), read by admin-api's authenticator as
		// x-api-key and x-api-secret.
		return strings.ToLower(key), true
	}
	return "", false
}

// singleHeaders are the request headers forwarded as metadata whose value
// must reach the handlers exactly as sent: grpc-gateway drops a value that is
// not valid gRPC metadata (anything but printable ASCII) with only a log
// line, so a request whose Idempotency-Key had a non-ASCII byte would run
// without idempotency, and one whose Authorization had one would be answered
// as if no key had been sent.
var singleHeaders = []string{"Authorization", "Idempotency-Key", "X-Api-Key", "X-Api-Secret"}

// checkHeaders is a grpc-gateway middleware refusing, with a 400 naming the
// header, a request whose singleHeaders would not be forwarded as sent. (A
// header sent twice is forwarded twice; grpcx.SingleMetadata refuses it, on
// gRPC too.)
func checkHeaders(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		for _, name := range singleHeaders {
			for _, v := range r.Header.Values(name) {
				if !validMetadataText(v) {
					writeAPIError(w, fromErrs(errs.Param(name, "header_invalid",
						"The %s header holds characters other than printable ASCII.", name)))
					return
				}
			}
		}
		next(w, r, pathParams)
	}
}

// validMetadataText reports whether s is a valid gRPC metadata text value:
// printable ASCII, space included.
func validMetadataText(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
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
	if code, ok := httpCode(md.HeaderMD); ok {
		w.WriteHeader(code)
	}
	return nil
}

// httpCode reads the `x-http-code` metadata: a 2xx status, or false.
func httpCode(md metadata.MD) (int, bool) {
	vals := md.Get(MetadataHTTPCode)
	if len(vals) == 0 {
		return 0, false
	}
	code, err := strconv.Atoi(vals[len(vals)-1])
	if err != nil || code < 200 || code > 299 {
		return 0, false
	}
	return code, true
}

package gateway

import (
	"io"
	"net/http"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// The helpers below serve the foreign API shapes ("surfaces"): plain HTTP
// handlers that translate a request and call the same gRPC services through
// the in-process connection, as grpc-gateway does for our own routes.

// OutgoingMetadata is the gRPC metadata a surface's call carries for r: the
// same request headers our own routes forward (Authorization, and those of
// incomingHeader: Idempotency-Key, X-Request-Id, the key pair's X-Api-Key and
// X-Api-Secret), and no other. A value that is not valid metadata text is
// refused with the 400 `header_invalid` our own routes give.
func OutgoingMetadata(r *http.Request) (metadata.MD, error) {
	md := metadata.MD{}
	for name, vals := range r.Header {
		name = http.CanonicalHeaderKey(name) // as grpc-gateway's matcher gets it
		key, ok := incomingHeader(name)
		if name == "Authorization" {
			key, ok = MetadataAuthorization, true
		}
		if !ok {
			continue
		}
		for _, v := range vals {
			if !validMetadataText(v) {
				return nil, errs.Param(name, "header_invalid", "The %s header holds characters other than printable ASCII.", name)
			}
			md.Append(key, v)
		}
	}
	return md, nil
}

// CopyResponseHeaders sets the public response headers (Request-Id,
// Idempotent-Replayed, Retry-After) from a call's header metadata.
func CopyResponseHeaders(h http.Header, md metadata.MD) { copyResponseHeaders(h, md) }

// HTTPCode is the status a successful call asked for (its `x-http-code`
// header metadata, such as 201 for a creation), or fallback.
func HTTPCode(md metadata.MD, fallback int) int {
	if code, ok := httpCode(md); ok {
		return code
	}
	return fallback
}

// DecodeBody reads a request body and decodes it into m as the REST API
// decodes its bodies (see [Unmarshal]): an error is an *errs.Error naming
// the parameter, and a body over the HTTP layer's cap is `request_too_large`
// (413 through [WriteError]).
func DecodeBody(r io.Reader, m proto.Message) error {
	data, err := readBody(r)
	if err != nil {
		return err
	}
	if err := unmarshal(data, m); err != nil {
		return err
	}
	return nil
}

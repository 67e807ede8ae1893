// Package gateway holds the grpc-gateway options that make the REST API look
// like Stripe's: the JSON marshaler, the error handlers, the Stripe-style
// query-string parser, the header mapping and a ServeMux that bundles them.
//
// # JSON
//
// Responses are written by a hand-written protoreflect encoder (see [Marshal]):
// proto field names (snake_case), every field present, 64-bit integers as JSON
// numbers, Timestamps as RFC 3339 UTC strings with second precision, unset
// proto3 `optional` and message fields as null, map keys sorted, enums as their
// lower-case value name without the enum-type prefix.
//
// Requests are decoded by protojson (snake_case and lowerCamelCase names,
// unknown fields rejected), or by a faster decoder for plain bodies that
// agrees with it; errors become *errs.Error values naming the parameter
// Stripe-style (`line_items[0][unit_amount]`). Stricter than protojson, an
// integer field takes only a plain JSON integer (not "100", 1e3 or 10.0:
// `parameter_invalid_type`), and a string with a lone UTF-16 surrogate escape
// ("\ud800") is refused naming its field. A body may repeat a parameter of
// the URL path (`site_id` in /v1/checkouts/{site_id}/create) only with the
// path's value; another value is refused (grpc-gateway would overwrite it). A request message with
// a `google.protobuf.FieldMask update_mask` field gets the mask filled from the
// keys of the body (an empty mask for an empty body), unless the body gives
// `update_mask` itself. Keys of nested message objects become nested paths
// (`branding.logo_url`), so a partial update merges them as Stripe does;
// lists and maps are replaced whole.
//
// # Errors
//
// Every error leaves as
//
//	{"error":{"type":"invalid_request_error","code":"parameter_unknown","param":"foo","message":"…"}}
//
// with `param` omitted when empty. gRPC handlers (through the interceptor)
// describe an error with a status whose
//
//   - code gives the HTTP status: InvalidArgument, FailedPrecondition and
//     OutOfRange 400, NotFound 404, AlreadyExists and Aborted 409,
//     Unauthenticated 401, PermissionDenied 403, ResourceExhausted 429,
//     Unimplemented 404, Unavailable 503, anything else 500;
//   - message is the text shown to the caller (for Internal and Unknown it is
//     shown as is: the interceptor has already replaced it with an error id);
//   - details hold a google.rpc.ErrorInfo whose Reason is the error code
//     (`parameter_missing`, `resource_missing`, …) and whose
//     Metadata["type"] ([ErrorTypeMetadataKey]), when set, is the error type
//     (`idempotency_error`, …) overriding the one implied by the status code;
//     and, for errors about one parameter, a google.rpc.BadRequest whose
//     FieldViolations[0].Field is the parameter. ErrorInfo.Domain is not read.
//
// A status without details gets a default code for its status code. An error
// with code `request_too_large` (a body over the HTTP layer's cap) is a 413.
//
// A plain *errs.Error (from this package's decoders, or given to [WriteError])
// maps by kind: Invalid and FailedPrecondition 400, NotFound 404, Conflict
// 409, Unauthenticated 401, PermissionDenied 403, RateLimited 429,
// IdempotencyMismatch 400 and IdempotencyInFlight 409 (type
// `idempotency_error`), Unavailable 503, Internal 500. Internal errors and
// errors that are neither *errs.Error nor a status are shown as a generic
// message, since no interceptor masked them.
//
// grpc-gateway turns the errors of body decoders and query parsers into
// status.Errorf(codes.InvalidArgument, "%v", err), which keeps nothing but the
// text. So those errors carry an encoded *errs.Error in their text (see
// inputError), and the error handler decodes it back.
//
// # Headers
//
// Authorization, Idempotency-Key and X-Request-Id are forwarded as gRPC
// metadata (lower case), as are X-Forwarded-For and X-Forwarded-Host, which
// grpc-gateway always adds; nothing else is, so callers cannot inject
// metadata (grpc-gateway's default would pass any Grpc-Metadata-* header).
// An Authorization or Idempotency-Key value that is not printable ASCII
// (which grpc-gateway would drop) is refused with 400 `header_invalid`; one
// sent twice is refused by grpcx.SingleMetadata (400 `header_duplicate`).
// [NoStore] marks every answer `Cache-Control: no-store`.
// Response header metadata `request-id`, `idempotent-replayed` and
// `retry-after` become the Request-Id, Idempotent-Replayed and Retry-After
// headers; `x-http-code` sets the status of
// a successful response (e.g. 201); all other metadata stays internal.
package gateway

// Metadata keys shared with the gRPC handlers (gRPC metadata keys are lower case).
const (
	// MetadataAuthorization carries the Authorization header.
	MetadataAuthorization = "authorization"
	// MetadataIdempotencyKey carries the Idempotency-Key header.
	MetadataIdempotencyKey = "idempotency-key"
	// MetadataRequestIDIn carries the caller's X-Request-Id header.
	MetadataRequestIDIn = "x-request-id"
	// MetadataRequestID is response header metadata sent back as Request-Id.
	MetadataRequestID = "request-id"
	// MetadataIdempotentReplayed is response header metadata sent back as
	// Idempotent-Replayed ("true" when a stored response is replayed).
	MetadataIdempotentReplayed = "idempotent-replayed"
	// MetadataRetryAfter is response header metadata sent back as
	// Retry-After (whole seconds), with a 429 or 503.
	MetadataRetryAfter = "retry-after"
	// MetadataHTTPCode is response header metadata that sets the HTTP status of
	// a successful REST response ("201"); it is never sent to the caller.
	MetadataHTTPCode = "x-http-code"
	// ErrorTypeMetadataKey is the google.rpc.ErrorInfo metadata key holding the
	// API error type (`invalid_request_error`, `idempotency_error`, …).
	ErrorTypeMetadataKey = "type"
)

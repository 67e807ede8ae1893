package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
)

// The API error types.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAuthentication = "authentication_error"
	typePermission     = "permission_error"
	typeIdempotency    = "idempotency_error"
	typeRateLimit      = "rate_limit_error"
	typeAPI            = "api_error"
)

// internalMessage replaces the message of errors that reach the handler
// without going through the interceptor, which would have masked them.
const internalMessage = "An internal error occurred."

// apiError is one error as the REST API shows it.
type apiError struct {
	status  int
	typ     string
	code    string
	param   string
	message string
}

// ErrorHandler is the runtime.ErrorHandlerFunc of the API: it writes err in
// the one error shape, with the status the package documentation gives, plus
// the Request-Id and Idempotent-Replayed headers from the handler's metadata.
func ErrorHandler(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, _ *http.Request, err error) {
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		copyResponseHeaders(w.Header(), md.HeaderMD)
	}
	writeAPIError(w, toAPIError(err))
}

// WriteError writes err in the API's error shape, for handlers outside the
// gateway (an *errs.Error, a gRPC status, or any other error, which becomes
// a masked 500).
func WriteError(w http.ResponseWriter, err error) { writeAPIError(w, toAPIError(err)) }

// RoutingErrorHandler is the runtime.RoutingErrorHandlerFunc of the API: an
// unknown path is a 404 `route_not_found`, a known path with another method a
// 405 `method_not_allowed`.
func RoutingErrorHandler(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	e := apiError{status: httpStatus, typ: typeInvalidRequest}
	switch path := requestPath(r); httpStatus {
	case http.StatusNotFound:
		e.code, e.message = "route_not_found", fmt.Sprintf("Unrecognized request URL (%s: %s).", r.Method, path)
	case http.StatusMethodNotAllowed:
		e.code, e.message = "method_not_allowed", fmt.Sprintf("The URL %s does not accept %s requests.", path, r.Method)
	case http.StatusBadRequest:
		e.code, e.message = "invalid_request_url", "Invalid request URL."
	default:
		e.typ, e.code, e.message = typeForStatus(httpStatus), "invalid_request", http.StatusText(httpStatus)+"."
	}
	writeAPIError(w, e)
}

// requestPath is the path the caller asked for (before APIPrefix rewrote it).
func requestPath(r *http.Request) string {
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		return u.Path
	}
	return r.URL.Path
}

func toAPIError(err error) apiError {
	if _, isStatus := status.FromError(err); !isStatus && errs.KindOf(err) == errs.Internal && grpcx.Unavailable(err) {
		// An outage that reached the edge without the interceptors (a
		// store's lost database connection in a plain handler): 503, as
		// they would make it.
		return fromErrs(grpcx.Outage(err))
	}
	if e, ok := errs.As(err); ok {
		return fromErrs(e)
	}
	if hse, ok := errors.AsType[*runtime.HTTPStatusError](err); ok { // a malformed path escape
		return apiError{status: hse.HTTPStatus, typ: typeForStatus(hse.HTTPStatus), code: "invalid_request_url",
			message: "Invalid request URL: " + hse.Err.Error() + "."}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fromStatus(status.FromContextError(err))
	}
	st, ok := status.FromError(err)
	if !ok {
		return apiError{status: http.StatusInternalServerError, typ: typeAPI, code: "internal", message: internalMessage}
	}
	return fromStatus(st)
}

// fromStatus reads a gRPC status as the package documentation describes.
func fromStatus(st *status.Status) apiError {
	e := apiError{message: st.Message()}
	e.status, e.typ, e.code = codeDefaults(st.Code())
	details := st.Details()
	if st.Code() == codes.InvalidArgument && len(details) == 0 {
		if ie, ok := decodeInputError(st.Message()); ok {
			return fromErrs(ie)
		}
		e = fromGeneratedMessage(e)
	}
	for _, d := range details {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetReason() != "" {
				e.code = d.GetReason()
			}
			if t := d.GetMetadata()[ErrorTypeMetadataKey]; t != "" {
				e.typ = t
			}
		case *errdetails.BadRequest:
			if v := d.GetFieldViolations(); len(v) > 0 {
				e.param = v[0].GetField()
			}
		}
	}
	if e.message == "" {
		e.message = http.StatusText(e.status) + "."
	}
	if e.code == codeRequestTooLarge {
		e.status = http.StatusRequestEntityTooLarge
	}
	return e
}

// fromGeneratedMessage names the parameter of the errors the generated
// gateway code makes about path parameters.
func fromGeneratedMessage(e apiError) apiError {
	if rest, ok := strings.CutPrefix(e.message, "type mismatch, parameter: "); ok {
		e.param, _, _ = strings.Cut(rest, ", error: ")
		e.code, e.message = "parameter_invalid_type", "Invalid value for "+e.param+"."
	} else if rest, ok := strings.CutPrefix(e.message, "missing parameter "); ok {
		e.param = rest
		e.code, e.message = "parameter_missing", "Missing required param: "+rest+"."
	}
	return e
}

// codeDefaults maps a gRPC code to the HTTP status, error type and default
// error code.
func codeDefaults(c codes.Code) (int, string, string) {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		return http.StatusBadRequest, typeInvalidRequest, "parameter_invalid"
	case codes.FailedPrecondition:
		return http.StatusBadRequest, typeInvalidRequest, "failed_precondition"
	case codes.NotFound:
		return http.StatusNotFound, typeInvalidRequest, "resource_missing"
	case codes.AlreadyExists:
		return http.StatusConflict, typeInvalidRequest, "resource_already_exists"
	case codes.Aborted:
		return http.StatusConflict, typeInvalidRequest, "conflict"
	case codes.Unauthenticated:
		return http.StatusUnauthorized, typeAuthentication, "unauthenticated"
	case codes.PermissionDenied:
		return http.StatusForbidden, typePermission, "permission_denied"
	case codes.ResourceExhausted:
		return http.StatusTooManyRequests, typeRateLimit, "rate_limited"
	case codes.Unimplemented:
		return http.StatusNotFound, typeInvalidRequest, "route_not_found"
	case codes.Unavailable:
		return http.StatusServiceUnavailable, typeAPI, "unavailable"
	}
	return http.StatusInternalServerError, typeAPI, "internal"
}

// fromErrs maps a domain error that did not go through the gRPC interceptor
// (a body or query error, or one from plain HTTP code).
func fromErrs(e *errs.Error) apiError {
	a := apiError{code: e.Code, param: e.Param, message: e.Message}
	switch e.Kind {
	case errs.Invalid, errs.FailedPrecondition:
		a.status, a.typ = http.StatusBadRequest, typeInvalidRequest
	case errs.NotFound:
		a.status, a.typ = http.StatusNotFound, typeInvalidRequest
	case errs.Conflict:
		a.status, a.typ = http.StatusConflict, typeInvalidRequest
	case errs.Unauthenticated:
		a.status, a.typ = http.StatusUnauthorized, typeAuthentication
	case errs.PermissionDenied:
		a.status, a.typ = http.StatusForbidden, typePermission
	case errs.RateLimited:
		a.status, a.typ = http.StatusTooManyRequests, typeRateLimit
	case errs.IdempotencyMismatch:
		a.status, a.typ = http.StatusBadRequest, typeIdempotency
	case errs.IdempotencyInFlight:
		a.status, a.typ = http.StatusConflict, typeIdempotency
	case errs.Unavailable:
		a.status, a.typ = http.StatusServiceUnavailable, typeAPI
	default:
		a = apiError{status: http.StatusInternalServerError, typ: typeAPI, code: "internal", message: internalMessage}
	}
	if a.code == "" {
		a.code = e.Kind.String()
	}
	if a.code == codeRequestTooLarge {
		a.status = http.StatusRequestEntityTooLarge
	}
	return a
}

// typeForStatus is the error type of an HTTP status.
func typeForStatus(code int) string {
	switch code {
	case http.StatusUnauthorized:
		return typeAuthentication
	case http.StatusForbidden:
		return typePermission
	case http.StatusTooManyRequests:
		return typeRateLimit
	}
	if code >= 500 {
		return typeAPI
	}
	return typeInvalidRequest
}

func writeAPIError(w http.ResponseWriter, e apiError) {
	var buf bytes.Buffer
	buf.WriteString(`{"error":{"type":`)
	writeString(&buf, e.typ)
	buf.WriteString(`,"code":`)
	writeString(&buf, e.code)
	if e.param != "" {
		buf.WriteString(`,"param":`)
		writeString(&buf, e.param)
	}
	buf.WriteString(`,"message":`)
	writeString(&buf, e.message)
	buf.WriteString("}}")
	w.Header().Set("Content-Type", "application/json")
	w.Header().Del("Content-Length")
	if e.status == http.StatusUnauthorized { // RFC 9110 §15.5.2: a 401 names its scheme
		w.Header().Set("WWW-Authenticate", `Bearer realm="Tillpoint"`)
	}
	httpx.SetRetryAfter(w, e.status)
	w.WriteHeader(e.status)
	_, _ = w.Write(buf.Bytes()) // the caller has gone; nothing left to tell
}

// inputErrorPrefix starts the text of an inputError.
const inputErrorPrefix = "tillpoint-gateway-input-error "

// inputError is an *errs.Error about the request body or query string.
// grpc-gateway keeps only the text of decoder and query-parser errors
// (status.Errorf(codes.InvalidArgument, "%v", err)), so the text is the error
// itself, encoded: inputErrorPrefix followed by JSON. The error handler decodes
// it back from an InvalidArgument status without details. Input errors are
// always of kind Invalid, so the kind is not encoded.
type inputError struct{ err *errs.Error }

type inputErrorJSON struct {
	Code    string `json:"code"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
}

func (e *inputError) Error() string {
	b, err := json.Marshal(inputErrorJSON{Code: e.err.Code, Param: e.err.Param, Message: e.err.Message})
	if err != nil { // cannot happen: strings and an integer
		return e.err.Error()
	}
	return inputErrorPrefix + string(b)
}

func (e *inputError) Unwrap() error { return e.err }

func decodeInputError(msg string) (*errs.Error, bool) {
	rest, ok := strings.CutPrefix(msg, inputErrorPrefix)
	if !ok {
		return nil, false
	}
	var j inputErrorJSON
	if err := json.Unmarshal([]byte(rest), &j); err != nil {
		return nil, false
	}
	return &errs.Error{Kind: errs.Invalid, Code: j.Code, Param: j.Param, Message: j.Message}, true
}

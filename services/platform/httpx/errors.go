package httpx

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/ids"
)

// The error types of the API (DESIGN §2), as in Stripe's error objects.
const (
	TypeInvalidRequest = "invalid_request_error"
	TypeAuthentication = "authentication_error"
	TypePermission     = "permission_error"
	TypeIdempotency    = "idempotency_error"
	TypeRateLimit      = "rate_limit_error"
	TypeAPI            = "api_error"
)

// CodeInternal is the code of every masked internal error.
const CodeInternal = "internal"

// ErrorBody is the JSON body of every error response:
// {"error":{"type":…,"code":…,"param":…,"message":…}}.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject is the "error" member of ErrorBody.
type ErrorObject struct {
	Type    string `json:"type"`
	Code    string `json:"code,omitempty"`
	Param   string `json:"param,omitempty"`
	Message string `json:"message"`
}

// WriteJSON writes v as a JSON response with the given status. Responses of
// the API are never cached by intermediaries.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a programming error (an unmarshalable type) gets here.
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"type":"api_error","code":"internal","message":"An internal error occurred."}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// RetryAfter is the Retry-After of a 503 (in seconds): about the time a
// service takes to restart, so that a client retrying then is likely served.
const RetryAfter = "5"

// SetRetryAfter says when to retry (Retry-After) on an answer of status
// 503: a dependency is down. Call it before WriteHeader.
func SetRetryAfter(w http.ResponseWriter, status int) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", RetryAfter)
	}
}

// WriteError writes the one JSON error shape of the API. param may be empty.
// A 503 says when to retry (Retry-After).
func WriteError(w http.ResponseWriter, status int, errType, code, param, message string) {
	SetRetryAfter(w, status)
	WriteJSON(w, status, ErrorBody{Error: ErrorObject{Type: errType, Code: code, Param: param, Message: message}})
}

// InternalMessage is the message shown for a masked internal error whose
// details were logged under errorID.
func InternalMessage(errorID string) string {
	return fmt.Sprintf("An internal error occurred (error id %s).", errorID)
}

// NewErrorID returns a fresh id ("err_…") under which a masked internal
// error is logged.
func NewErrorID() string { return ids.New("err") }

// KindStatus returns the HTTP status and error type of a domain error kind.
// It is the single table the HTTP edge and the gRPC error mapping agree on
// (grpcx tests check that they do).
func KindStatus(k errs.Kind) (status int, errType string) {
	switch k {
	case errs.Invalid, errs.FailedPrecondition:
		return http.StatusBadRequest, TypeInvalidRequest
	case errs.NotFound:
		return http.StatusNotFound, TypeInvalidRequest
	case errs.Conflict:
		return http.StatusConflict, TypeInvalidRequest
	case errs.Unauthenticated:
		return http.StatusUnauthorized, TypeAuthentication
	case errs.PermissionDenied:
		return http.StatusForbidden, TypePermission
	case errs.RateLimited:
		return http.StatusTooManyRequests, TypeRateLimit
	case errs.IdempotencyMismatch:
		return http.StatusBadRequest, TypeIdempotency
	case errs.IdempotencyInFlight:
		return http.StatusConflict, TypeIdempotency
	case errs.Unavailable:
		return http.StatusServiceUnavailable, TypeAPI
	default:
		return http.StatusInternalServerError, TypeAPI
	}
}

// WriteErr answers a plain HTTP handler's error: a *errs.Error (anywhere in
// err's chain) is shown with its kind's status, code, param and message; an
// Internal kind or any other error is logged with a fresh error id and shown
// only as that id, so no internals leak.
func WriteErr(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if e, ok := errs.As(err); ok && e.Kind != errs.Internal {
		status, typ := KindStatus(e.Kind)
		code := e.Code
		if code == "" {
			code = e.Kind.String()
		}
		msg := e.Message
		if msg == "" {
			msg = http.StatusText(status) + "."
		}
		WriteError(w, status, typ, code, e.Param, msg)
		return
	}
	id := NewErrorID()
	log.ErrorContext(r.Context(), "internal error", "error_id", id, "error", err,
		"method", r.Method, "path", r.URL.Path)
	WriteError(w, http.StatusInternalServerError, TypeAPI, CodeInternal, "", InternalMessage(id))
}

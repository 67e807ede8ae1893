package httpx

import (
	"net/http"

	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/logging"
)

// maxRequestIDLen bounds an id taken from a caller: long enough for a UUID
// or a prefixed random id, short enough to keep log lines small.
const maxRequestIDLen = 64

// RequestIDHeader is the response header carrying the request id (Stripe's
// name); callers may send their own id in X-Request-Id.
const RequestIDHeader = "Request-Id"

// ValidRequestID reports whether id, received from a caller, is safe to log
// and echo: 1 to 64 characters of [A-Za-z0-9_-].
func ValidRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// NewRequestID returns a fresh request id ("req_…").
func NewRequestID() string { return ids.New("req") }

// RequestID is a middleware that gives every request an id: the caller's
// X-Request-Id when ValidRequestID accepts it, else a new one. The id is put
// in the request context (logging.WithRequestID) and the Request-Id response
// header.
func RequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !ValidRequestID(id) {
			id = NewRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(logging.WithRequestID(r.Context(), id)))
	})
}

package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
)

type bodyLimitKey struct{}

// bodyLimit records whether a request's body went over its limit, so that
// the limit can be recognised even when a layer (grpc-gateway's decoder)
// flattened the *http.MaxBytesError into a message.
type bodyLimit struct {
	limit    int64
	exceeded atomic.Bool
}

// MaxBody is a middleware limiting request bodies to n bytes with
// http.MaxBytesReader: reading past the limit fails with *http.MaxBytesError,
// which handlers answer with RespondTooLarge. Put it first in the chain (on
// net/http's own ResponseWriter) so that net/http can close the connection
// after an oversized body.
func MaxBody(n int64) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := &bodyLimit{limit: n}
			r = r.WithContext(context.WithValue(r.Context(), bodyLimitKey{}, st))
			r.Body = &limitedBody{ReadCloser: http.MaxBytesReader(w, r.Body, n), st: st}
			next.ServeHTTP(w, r)
		})
	}
}

type limitedBody struct {
	io.ReadCloser
	st *bodyLimit
}

// Read reads from the limited body, noting when the limit is hit.
func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		b.st.exceeded.Store(true)
	}
	return n, err
}

// RespondTooLarge writes a 413 JSON error and reports true when err is an
// *http.MaxBytesError, or when r's body (limited by MaxBody) went over its
// limit; otherwise it writes nothing and reports false.
func RespondTooLarge(w http.ResponseWriter, r *http.Request, err error) bool {
	var limit int64
	if mbe, ok := errors.AsType[*http.MaxBytesError](err); ok {
		limit = mbe.Limit
	} else if st, ok := r.Context().Value(bodyLimitKey{}).(*bodyLimit); ok && st.exceeded.Load() {
		limit = st.limit
	} else {
		return false
	}
	WriteError(w, http.StatusRequestEntityTooLarge, TypeInvalidRequest, "request_too_large", "",
		fmt.Sprintf("The request body exceeds the limit of %d bytes.", limit))
	return true
}

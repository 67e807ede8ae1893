// Package httpx is the public HTTP edge every Tillpoint service shares: host
// checking, request ids, access logs, panic recovery, body limits, health
// endpoints, graceful shutdown and the one JSON error shape of the API.
//
// A service's public handler is typically assembled as
//
//	h := httpx.Chain(mux,
//		httpx.MaxBody(1<<20),      // first, so net/http can close the connection on overflow
//		httpx.RequestID,
//		httpx.AccessLog(log),
//		httpx.Recover(log),
//		hostCheck,                // from httpx.HostCheck
//	)
package httpx

import "net/http"

// Middleware wraps a handler with behaviour that runs around it.
type Middleware func(http.Handler) http.Handler

// Chain wraps h with mws so that mws[0] is the outermost: a request passes
// through mws[0], then mws[1], … and finally reaches h.
func Chain(h http.Handler, mws ...Middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

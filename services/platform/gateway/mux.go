package gateway

import (
	"net/http"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// NewServeMux returns a grpc-gateway mux with the API's JSON, errors, query
// parsing and header mapping; extra options are applied last.
//
// Before a route's handler, the mux refuses an Authorization or
// Idempotency-Key header it could not forward (checkHeaders) and hands the
// body decoder the path parameters (withPathParams).
//
// The mux does not treat a form-encoded POST as a GET (grpc-gateway's "path
// length fallback") nor honour X-HTTP-Method-Override: both would let a
// create request run as a list.
//
// grpc-gateway keeps the query parser in a package variable, so this sets it
// for every mux of the process (all of ours use the same parser); build muxes
// before serving, not while another mux serves.
func NewServeMux(extra ...runtime.ServeMuxOption) *runtime.ServeMux {
	opts := []runtime.ServeMuxOption{
		runtime.WithMarshalerOption(runtime.MIMEWildcard, JSON{}),
		runtime.WithErrorHandler(ErrorHandler),
		runtime.WithRoutingErrorHandler(RoutingErrorHandler),
		runtime.SetQueryParameterParser(QueryParser{}),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithOutgoingTrailerMatcher(noTrailers),
		runtime.WithForwardResponseOption(forwardHTTPCode),
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
		runtime.WithMiddlewares(checkHeaders, withPathParams),
	}
	return runtime.NewServeMux(append(opts, extra...)...)
}

// NoStore sets `Cache-Control: no-store` on every answer of h, successes
// and errors alike: answers of the merchant API carry secrets (a new API
// key, a webhook endpoint's signing secret) and customer data, which no
// browser, proxy or CDN may keep. Stripe does the same for all of its API.
func NoStore(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// apiPrefix is the seed's (000) prefix for the same routes.
const apiPrefix = "/api"

// APIPrefix serves every /api/v1/... path as /v1/... and passes other paths
// through unchanged.
func APIPrefix(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hasVersionedAPIPrefix(r.URL.Path) {
			h.ServeHTTP(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		r2.URL = &u
		r2.URL.Path = r.URL.Path[len(apiPrefix):]
		if hasVersionedAPIPrefix(r.URL.RawPath) {
			r2.URL.RawPath = r.URL.RawPath[len(apiPrefix):]
		} else {
			r2.URL.RawPath = ""
		}
		h.ServeHTTP(w, r2)
	})
}

func hasVersionedAPIPrefix(path string) bool {
	return path == apiPrefix+"/v1" || strings.HasPrefix(path, apiPrefix+"/v1/")
}

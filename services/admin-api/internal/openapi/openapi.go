// Package openapi serves the OpenAPI (Swagger 2.0) description of the merchant
// API, generated from the protos by `make generate`.
package openapi

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.swagger.json
var spec []byte

// Handler serves the document at /v1/openapi.json.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(spec)
	})
}

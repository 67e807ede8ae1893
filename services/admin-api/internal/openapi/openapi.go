// Package openapi serves the OpenAPI 3.1 description of the merchant API.
// `make generate` writes openapi.json: protoc-gen-openapiv2 describes the
// protos in Swagger 2.0, and tools/openapi31 converts that to OpenAPI 3.1
// with kin-openapi.
package openapi

import (
	_ "embed"
	"net/http"
)

//go:embed openapi.json
var spec []byte

// JSON is the OpenAPI 3.1 document.
func JSON() []byte { return spec }

// Handler serves the document at /v1/openapi.json.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(spec)
	})
}

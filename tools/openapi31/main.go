// Command openapi31 converts the Swagger 2.0 description that
// protoc-gen-openapiv2 writes from the protos into OpenAPI 3.1, with
// kin-openapi: openapi2conv gives 3.0, openapi3conv rewrites the 3.0 forms
// (nullable, boolean exclusive bounds, schema example) into their 3.1
// equivalents, and the version is pinned to 3.1.0. Nothing here is per
// route: whatever the protos describe is carried over. `make generate` runs
// it, so the committed openapi.json is reproducible byte for byte.
//
//	openapi31 -in openapi.swagger.json -out openapi.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3conv"
)

func main() {
	in := flag.String("in", "", "Swagger 2.0 JSON to read")
	out := flag.String("out", "", "OpenAPI 3.1 JSON to write")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: openapi31 -in openapi.swagger.json -out openapi.json")
		os.Exit(2)
	}
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "openapi31:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	integers(tree)
	if raw, err = json.Marshal(tree); err != nil {
		return err
	}
	var v2 openapi2.T
	if err := json.Unmarshal(raw, &v2); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	doc, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return fmt.Errorf("to 3.0: %w", err)
	}
	ctx := context.Background()
	if err := doc.Validate(ctx); err != nil {
		return fmt.Errorf("the 3.0 conversion is invalid: %w", err)
	}
	openapi3conv.Upgrade(doc)
	doc.OpenAPI = "3.1.0"
	if err := doc.Validate(ctx); err != nil {
		return fmt.Errorf("the 3.1 document is invalid: %w", err)
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(out, append(b, '\n'), 0o644)
}

// integers rewrites every 64-bit integer schema or parameter, which
// protoc-gen-openapiv2 types as a string (protojson's default), to an
// integer: the merchant API writes and reads them as plain JSON numbers
// (README, "Strict input").
func integers(node any) {
	switch n := node.(type) {
	case map[string]any:
		if n["type"] == "string" && (n["format"] == "int64" || n["format"] == "uint64") {
			n["type"] = "integer"
		}
		for _, v := range n {
			integers(v)
		}
	case []any:
		for _, v := range n {
			integers(v)
		}
	}
}

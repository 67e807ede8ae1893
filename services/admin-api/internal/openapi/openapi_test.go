package openapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestValidOpenAPI31 validates the served document with kin-openapi's
// OpenAPI 3.1 validator (schemas, references and every example against its
// schema) and checks what the conversion must carry over.
func TestValidOpenAPI31(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("invalid OpenAPI 3.1: %v", err)
	}
	session := doc.Components.Schemas["v1CheckoutSession"]
	if session == nil || len(session.Value.Examples) == 0 {
		t.Fatal("v1CheckoutSession lost its example")
	}
	if typ := session.Value.Properties["amount_total"].Value.Type; !typ.Is("integer") {
		t.Errorf("amount_total is %v, want integer (the API writes plain JSON numbers)", typ)
	}
	if typ := session.Value.Properties["customer"].Value.Type; !typ.Includes("null") {
		t.Errorf("customer is %v, want nullable (an unset optional field is null)", typ)
	}
	op := doc.Paths.Find("/v1/checkout/sessions/{id}/expire").Post
	def := op.Responses.Default().Value.Content.Get("application/json")
	if def.Schema.Ref != "#/components/schemas/v1ErrorResponse" || def.Example == nil {
		t.Errorf("the error answer lost its shape or example: %+v", def)
	}
	var raw map[string]any
	if err := json.Unmarshal(spec, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["swagger"]; ok {
		t.Error("the document still says swagger")
	}
}

// TestDocsPage: /docs renders every operation, the error example and the
// session's example, under a CSP that allows no script and no other origin.
func TestDocsPage(t *testing.T) {
	h, err := Docs()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/docs", nil))
	body := rec.Body.String()
	csp := rec.Header().Get("Content-Security-Policy")
	if rec.Code != http.StatusOK || !strings.HasPrefix(csp, "default-src 'none'; style-src 'sha256-") || strings.Contains(csp, "script") {
		t.Fatalf("%d, CSP %q", rec.Code, csp)
	}
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range doc.Paths.Keys() {
		for method, op := range doc.Paths.Value(path).Operations() {
			if !strings.Contains(body, `id="op-`+op.OperationID+`"`) {
				t.Errorf("/docs lacks %s %s", method, path)
			}
		}
	}
	for _, want := range []string{`id="tag-CheckoutSessionService"`, `id="schema-v1ErrorResponse"`, "parameter_missing",
		"cs_4TPuOyNBWTSw1wrEeCuR4wCQ", `name="viewport"`, `<a href="#schema-v1CheckoutSession">`} {
		if !strings.Contains(body, want) {
			t.Errorf("/docs lacks %s", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://cdn", "src="} {
		if strings.Contains(body, bad) {
			t.Errorf("/docs contains %q", bad)
		}
	}
}

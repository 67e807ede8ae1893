package server

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
)

// siteFields are the custom fields the tests give site A: seed 002's two
// keys and a required dropdown.
func siteFields() []map[string]any {
	return []map[string]any{
		{"key": "order_id", "label": map[string]string{"en": "Order", "fr": "Commande"}, "type": "text", "optional": true, "maximum_length": 20},
		{"key": "campaign", "label": map[string]string{"en": "Campaign"}, "type": "text", "optional": true},
		{"key": "seats", "label": map[string]string{"en": "Seats", "fr": "Places"}, "type": "numeric"},
		{"key": "size", "label": map[string]string{"en": "Size", "fr": "Taille"}, "type": "dropdown",
			"options": []map[string]any{{"value": "s", "label": map[string]string{"en": "Small", "fr": "Petit"}}, {"value": "l", "label": map[string]string{"en": "Large"}}}},
	}
}

func (e *env) giveSiteFields() {
	e.t.Helper()
	status, s := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"custom_fields": siteFields()})
	if status != http.StatusOK {
		e.t.Fatalf("update site: %d %v", status, s)
	}
	fields := s["custom_fields"].([]any)
	if len(fields) != 4 || fields[1].(map[string]any)["maximum_length"] != 255.0 || fields[3].(map[string]any)["maximum_length"] != 0.0 {
		e.t.Fatalf("site custom fields: %v", fields)
	}
}

func TestSiteCustomFieldDefinitions(t *testing.T) {
	e := newEnv(t)
	bad := siteFields()
	bad[3]["options"] = []map[string]any{}
	status, body := e.do("POST", "/v1/sites/"+e.siteA, e.keyA, map[string]any{"custom_fields": bad})
	wantError(t, "dropdown without options", status, body, http.StatusBadRequest, "custom_fields[3][options]", "parameter_invalid")
	status, body = e.do("POST", "/v1/sites", e.keyA, map[string]any{"name": "Fields", "default_currency": "EUR",
		"custom_fields": []map[string]any{{"key": "a b", "label": map[string]string{"en": "A"}, "type": "text"}}})
	wantError(t, "create with a bad key", status, body, http.StatusBadRequest, "custom_fields[0][key]", "parameter_invalid")
	status, body = e.do("POST", "/v1/sites", e.keyA, map[string]any{"name": "Fields", "default_currency": "EUR", "custom_fields": siteFields()})
	if status != http.StatusCreated || len(body["custom_fields"].([]any)) != 4 {
		t.Fatalf("create a site with fields: %d %v", status, body)
	}
	e.giveSiteFields()
	_, got := e.do("GET", "/v1/sites/"+e.siteA, e.keyA, nil)
	label := got["custom_fields"].([]any)[0].(map[string]any)["label"].(map[string]any)
	if label["fr"] != "Commande" {
		t.Fatalf("stored labels: %v", got["custom_fields"])
	}
}

func TestSessionCustomFields(t *testing.T) {
	e := newEnv(t)
	e.giveSiteFields()
	for _, tc := range []struct {
		name   string
		values map[string]any
		param  string
		code   string
	}{
		{"unknown key", map[string]any{"colour": "red"}, "custom_fields[colour]", "parameter_unknown"},
		{"too long", map[string]any{"order_id": "order_123456789012345"}, "custom_fields[order_id]", "custom_field_too_long"},
		{"not digits", map[string]any{"seats": "two"}, "custom_fields[seats]", "custom_field_not_numeric"},
		{"not an option", map[string]any{"size": "xl"}, "custom_fields[size]", "custom_field_not_an_option"},
	} {
		status, body := e.createSession(e.keyA, sessionWith("custom_fields", tc.values))
		wantError(t, tc.name, status, body, http.StatusBadRequest, tc.param, tc.code)
	}
	if n := e.count("SELECT count(*) FROM admin.checkout_sessions"); n != 0 {
		t.Fatalf("%d sessions written by refused requests", n)
	}

	// Seed 002's example: given at creation, returned only when expanded.
	status, s := e.createSession(e.keyA, sessionWith("custom_fields", map[string]any{"order_id": "order_12345", "campaign": "halloween_sale"}))
	if status != http.StatusCreated || s["custom_fields"] != nil {
		t.Fatalf("create: %d custom_fields=%v, want null without expand", status, s["custom_fields"])
	}
	id := s["id"].(string)
	_, got := e.do("GET", "/v1/checkout/sessions/"+id+"?expand=custom_fields", e.keyA, nil)
	want := map[string]any{"order_id": "order_12345", "campaign": "halloween_sale"}
	if cf, _ := got["custom_fields"].(map[string]any); len(cf) != 2 || cf["order_id"] != want["order_id"] || cf["campaign"] != want["campaign"] {
		t.Fatalf("expanded: %v", got["custom_fields"])
	}
	_, got = e.do("GET", "/v1/checkout/sessions/"+id, e.keyA, nil)
	if got["custom_fields"] != nil {
		t.Fatalf("not expanded: %v", got["custom_fields"])
	}
	status, got = e.do("GET", "/v1/checkout/sessions/"+id+"?expand=line_items", e.keyA, nil)
	wantError(t, "unknown expansion", status, got, http.StatusBadRequest, "expand[0]", "parameter_invalid")
	status, got = e.createSession(e.keyA, sessionWith("custom_fields", map[string]any{"seats": "4"}, "expand", []string{"custom_fields"}))
	if cf, _ := got["custom_fields"].(map[string]any); status != http.StatusCreated || cf["seats"] != "4" {
		t.Fatalf("create with expand: %d %v", status, got["custom_fields"])
	}

	// The page: required fields missing are named, one at a time; values
	// given at creation stay.
	c := e.internalClient(token)
	ctx := context.Background()
	_, err := c.SetCustomFields(ctx, &internalapiv1.SetCustomFieldsRequest{SessionId: id, Values: map[string]string{"seats": "3"}})
	if code, r := reason(err); code != codes.InvalidArgument || r != "custom_field_missing" || errParam(err) != "custom_fields[size]" {
		t.Fatalf("a required field missing: %v", err)
	}
	resp, err := c.SetCustomFields(ctx, &internalapiv1.SetCustomFieldsRequest{SessionId: id,
		Values: map[string]string{"seats": "3", "size": "l", "order_id": "other"}})
	if err != nil {
		t.Fatal(err)
	}
	cf := resp.GetCheckoutSession().GetCustomFields().AsMap()
	if len(cf) != 4 || cf["seats"] != "3" || cf["size"] != "l" || cf["order_id"] != "order_12345" {
		t.Fatalf("after the page: %v", cf)
	}

	// Events carry the values.
	_, err = c.CompleteSession(ctx, &internalapiv1.CompleteSessionRequest{OrganizationId: e.orgA, Currency: "EUR", SessionId: id,
		PaymentId: "pay_1", Paid: true, AmountTotal: num(s["amount_total"])})
	if err != nil {
		t.Fatal(err)
	}
	var payload []byte
	if err := e.pool.QueryRow(ctx, "SELECT payload FROM admin.outbox WHERE subject = 'events.checkout.session.completed'").Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var ev eventsv1.Event
	if err := proto.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	if got := ev.GetCheckoutSession().GetCustomFields().AsMap(); len(got) != 4 || got["size"] != "l" {
		t.Fatalf("event's custom fields: %v", got)
	}
	_, err = c.SetCustomFields(ctx, &internalapiv1.SetCustomFieldsRequest{SessionId: id, Values: map[string]string{"seats": "3"}})
	if code, _ := reason(err); code != codes.FailedPrecondition {
		t.Fatalf("a complete session: %v", err)
	}
}

func TestPaymentKitCustomFields(t *testing.T) {
	e := newEnv(t)
	e.giveSiteFields()
	path := "/api/" + e.orgA + "/checkout-sessions"
	body := pkSession()
	body["custom_fields"] = map[string]any{"order_id": "order_12345", "seats": 12}
	status, s := e.do("POST", path, e.keyA, body)
	if status != http.StatusCreated || s["custom_fields"] != nil {
		t.Fatalf("create: %d %v", status, s)
	}
	_, got := e.do("GET", path+"/"+s["id"].(string)+"?expand=custom_fields", e.keyA, nil)
	if cf, _ := got["custom_fields"].(map[string]any); cf["order_id"] != "order_12345" || cf["seats"] != "12" {
		t.Fatalf("expanded: %v", got)
	}
	body["custom_fields"] = map[string]any{"size": "xl"}
	status, s = e.do("POST", path, e.keyA, body)
	wantError(t, "not an option", status, s, http.StatusBadRequest, "custom_fields[size]", "custom_field_not_an_option")
}

// errParam is the parameter a gRPC error names.
func errParam(err error) string {
	if e, ok := errs.As(grpcx.DomainError(err)); ok {
		return e.Param
	}
	return ""
}

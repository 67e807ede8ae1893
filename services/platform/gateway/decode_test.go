package gateway

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
)

func TestUnmarshalAccepts(t *testing.T) {
	for _, tc := range []struct {
		body string
		want *adminv1.CreateCheckoutSessionRequest
	}{
		{`{"site_id":"site_1","amount":5000}`, &adminv1.CreateCheckoutSessionRequest{SiteId: "site_1", Amount: proto.Int64(5000)}},
		{`{"siteId":"site_1","amount":-0}`, &adminv1.CreateCheckoutSessionRequest{SiteId: "site_1", Amount: proto.Int64(0)}},
		{`{"description":"\ud83d\ude00 \\ud800","metadata":{"a":"\u00e9"}}`, &adminv1.CreateCheckoutSessionRequest{
			Description: "\U0001F600 \\ud800", Metadata: map[string]string{"a": "é"}}},
		// The slow way (a timestamp), with every rule of checkStrict met.
		{`{"amount":5000,"expires_at":"2030-01-01T00:00:00Z","line_items":[{"quantity":-0}],"metadata":{"\ud83d\ude00":"\ud83d\ude00"}}`,
			&adminv1.CreateCheckoutSessionRequest{Amount: proto.Int64(5000), ExpiresAt: &timestamppb.Timestamp{Seconds: 1893456000},
				LineItems: []*adminv1.LineItemParams{{}}, Metadata: map[string]string{"\U0001F600": "\U0001F600"}}},
		{`{"returnUrl":"https://shop.example.com/ok"}`, &adminv1.CreateCheckoutSessionRequest{ReturnUrl: "https://shop.example.com/ok"}},
		{`{"line_items":[{"name":"Tea","unitAmount":150,"quantity":2}],"metadata":{"k":"v"}}`, &adminv1.CreateCheckoutSessionRequest{
			LineItems: []*adminv1.LineItemParams{{Name: "Tea", UnitAmount: 150, Quantity: 2}}, Metadata: map[string]string{"k": "v"}}},
		{``, &adminv1.CreateCheckoutSessionRequest{}},
		{" \n\t", &adminv1.CreateCheckoutSessionRequest{}},
		{`{}`, &adminv1.CreateCheckoutSessionRequest{}},
	} {
		var got adminv1.CreateCheckoutSessionRequest
		if err := (JSON{}).NewDecoder(strings.NewReader(tc.body)).Decode(&got); err != nil {
			t.Errorf("Decode(%s): %v", tc.body, err)
			continue
		}
		if !proto.Equal(&got, tc.want) {
			t.Errorf("Decode(%s) = %v, want %v", tc.body, &got, tc.want)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	for _, tc := range []struct {
		body, code, param, message string
	}{
		{`{"foo":1}`, "parameter_unknown", "foo", "Received unknown parameter: foo."},
		{`{"site_id":"s",
		   "line_items":[{"name":"a"},{"bogus":1}]}`, "parameter_unknown", "line_items[1][bogus]", "Received unknown parameter: line_items[1][bogus]."},
		{`{"amount":"x"}`, "parameter_invalid_type", "amount", "Invalid value for amount: expected an integer."},
		{`{"amount":true}`, "parameter_invalid_type", "amount", "Invalid value for amount: expected an integer."},
		{`{"lineItems":[{"name":"é","unitAmount":"x"}]}`, "parameter_invalid_type", "line_items[0][unit_amount]",
			"Invalid value for line_items[0][unit_amount]: expected an integer."},
		{`{"line_items":5}`, "parameter_invalid_type", "line_items", "Invalid value for line_items: expected an array."},
		{`{"line_items":[5]}`, "parameter_invalid_type", "line_items[0]", "Invalid value for line_items[0]: expected an object."},
		{`{"metadata":{"orderRef":5}}`, "parameter_invalid_type", "metadata[orderRef]", "Invalid value for metadata[orderRef]: expected a string."},
		{`{"metadata":[]}`, "parameter_invalid_type", "metadata", "Invalid value for metadata: expected an object."},
		{`{"expires_at":"tomorrow"}`, "parameter_invalid_type", "expires_at",
			`Invalid value for expires_at: expected an RFC 3339 timestamp such as "2024-01-16T10:00:00Z".`},
		{`{"success_url":"a","successUrl":"b"}`, "parameter_duplicate", "success_url", "Received parameter success_url more than once."},
		{`{"metadata":{"k":"a","k":"b"}}`, "parameter_duplicate", "metadata[k]", "Received parameter metadata[k] more than once."},
		// Integers are JSON numbers without quotes, fraction or exponent,
		// although protojson takes all three.
		{`{"amount":"100"}`, "parameter_invalid_type", "amount", "Invalid value for amount: expected an integer."},
		{`{"amount":1e3}`, "parameter_invalid_type", "amount", "Invalid value for amount: expected an integer."},
		{`{"amount":10.0}`, "parameter_invalid_type", "amount", "Invalid value for amount: expected an integer."},
		{`{"expiresInMinutes":"30"}`, "parameter_invalid_type", "expires_in_minutes", ""},
		{`{"line_items":[{"name":"Tea","unit_amount":150,"quantity":2},{"name":"Cup","unit_amount":1,"quantity":"2"}]}`,
			"parameter_invalid_type", "line_items[1][quantity]", "Invalid value for line_items[1][quantity]: expected an integer."},
		{`{"line_items":[{"unit_amount":15E1}]}`, "parameter_invalid_type", "line_items[0][unit_amount]", ""},
		// A lone surrogate is no character; the error names where it is.
		{`{"description":"\ud800"}`, "parameter_invalid", "description",
			`Invalid value for description: it holds a lone UTF-16 surrogate escape (such as "\ud800"), which is not a character.`},
		{`{"description":"caf\u00e9 \udc00"}`, "parameter_invalid", "description", ""},
		{`{"description":"\ud800\u0041"}`, "parameter_invalid", "description", ""},
		{`{"metadata":{"k":"\ud800"}}`, "parameter_invalid", "metadata[k]", ""},
		{`{"metadata":{"\ud800":"v"}}`, "parameter_invalid", "metadata", ""},
		{`{"line_items":[{"name":"\udfff"}]}`, "parameter_invalid", "line_items[0][name]", ""},
		{`{"\ud800":1}`, "invalid_json", "", ""},
		{`{"amount":`, "invalid_json", "", ""},
		{`{"amount":5000,}`, "invalid_json", "", ""},
		{`[]`, "invalid_json", "", "Invalid JSON body: the body must be a JSON object."},
		{`null`, "invalid_json", "", "Invalid JSON body: the body must be a JSON object."},
		{"{\"name\":\"\xff\"}", "invalid_json", "", "Invalid JSON body: it is not valid UTF-8."},
	} {
		var req adminv1.CreateCheckoutSessionRequest
		err := (JSON{}).NewDecoder(strings.NewReader(tc.body)).Decode(&req)
		e, ok := errs.As(err)
		if !ok {
			t.Errorf("Decode(%s) = %v, want an *errs.Error", tc.body, err)
			continue
		}
		if e.Kind != errs.Invalid || e.Code != tc.code || e.Param != tc.param || (tc.message != "" && e.Message != tc.message) {
			t.Errorf("Decode(%s) = %+v, want code %s, param %q, message %q", tc.body, e, tc.code, tc.param, tc.message)
		}
		// What the error handler makes of it after grpc-gateway flattened it.
		got := toAPIError(status.Errorf(codes.InvalidArgument, "%v", err))
		if got.status != http.StatusBadRequest || got.code != e.Code || got.param != e.Param || got.message != e.Message {
			t.Errorf("Decode(%s): through a status: %+v, want %+v", tc.body, got, e)
		}
	}
}

func TestDecodeTooLarge(t *testing.T) {
	body := http.MaxBytesReader(nil, io.NopCloser(strings.NewReader(`{"description":"`+strings.Repeat("x", 100)+`"}`)), 64)
	var req adminv1.CreateCheckoutSessionRequest
	err := (JSON{}).NewDecoder(body).Decode(&req)
	if e, ok := errs.As(err); !ok || e.Code != "request_too_large" || e.Kind != errs.Invalid {
		t.Fatalf("Decode = %v, want request_too_large", err)
	}
	if got := toAPIError(status.Errorf(codes.InvalidArgument, "%v", err)); got.status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", got.status)
	}
}

func TestUpdateMaskFromBody(t *testing.T) {
	for _, tc := range []struct {
		body string
		want []string
	}{
		// Nested messages merge: only the keys given change.
		{`{"defaultCurrency":"EUR","name":"Shop","branding":{"logo_url":"https://x"}}`, []string{"name", "branding.logo_url", "default_currency"}},
		{`{"branding":{}}`, []string{"branding"}},
		// Lists are replaced whole.
		{`{"tax_rates":[{"country":"FR"}]}`, []string{"tax_rates"}},
		{`{"append_transaction_id":false}`, []string{"append_transaction_id"}},
		{`{"name":"Shop","update_mask":"name,defaultCurrency"}`, []string{"name", "default_currency"}}, // given: kept
		{``, nil},
	} {
		var req adminv1.UpdateSiteRequest
		if err := Unmarshal([]byte(tc.body), &req); err != nil {
			t.Fatalf("Unmarshal(%s): %v", tc.body, err)
		}
		if req.UpdateMask == nil {
			t.Errorf("Unmarshal(%s): no update mask", tc.body)
			continue
		}
		if !slices.Equal(req.UpdateMask.Paths, tc.want) {
			t.Errorf("Unmarshal(%s): mask %q, want %q", tc.body, req.UpdateMask.Paths, tc.want)
		}
	}
}

func TestDecodeBodyFieldPointer(t *testing.T) {
	// A body bound to one message field (`body: "branding"`) is decoded into
	// a pointer to the field.
	var req adminv1.CreateSiteRequest
	if err := (JSON{}).NewDecoder(strings.NewReader(`{"logoUrl":"https://x"}`)).Decode(&req.Branding); err != nil {
		t.Fatal(err)
	}
	if req.GetBranding().GetLogoUrl() != "https://x" {
		t.Errorf("branding = %v", req.Branding)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"site_id":"site_1","amount":5000,"line_items":[{"name":"Tea","unit_amount":150,"quantity":2}]}`,
		`{"foo":1}`, `{"amount":"x"}`, `{"metadata":{"a":1}}`, `{"expires_at":"2024-01-16T10:00:00Z"}`,
		`{"name":"x","branding":{"logo_url":5}}`, `{"update_mask":"name"}`, `{"amount":`, `[]`, "", "\xff",
		`{"line_items":[{},{"quantity":[1]}]}`, `{"success_url":"a","successUrl":"b"}`,
		`{"amount":"100"}`, `{"amount":1e3}`, `{"line_items":[{"quantity":2.0}]}`, `{"description":"\ud800"}`,
		`{"metadata":{"\udc00":"v"}}`, `{"tax_rates":[{"percentage_bps":"1"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []proto.Message{&adminv1.CreateCheckoutSessionRequest{}, &adminv1.UpdateSiteRequest{}} {
			err := (JSON{}).NewDecoder(bytes.NewReader(data)).Decode(m)
			if err == nil {
				continue
			}
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.Invalid || e.Code == "" || e.Message == "" {
				t.Fatalf("Decode(%q) = %v, want an Invalid *errs.Error with code and message", data, err)
			}
			got := toAPIError(status.Errorf(codes.InvalidArgument, "%v", err))
			if got.status != http.StatusBadRequest || got.code != e.Code || got.param != e.Param {
				t.Fatalf("Decode(%q): through a status: %+v, want %+v", data, got, e)
			}
		}
	})
}

// FuzzFastDecode: whatever the fast path accepts, the slow path (checkStrict
// and protojson) accepts too and decodes to the same message. (Everything it
// declines goes the slow way.) And what protojson alone accepts but the slow
// path refuses is refused for the API's own reasons.
func FuzzFastDecode(f *testing.F) {
	for _, s := range []string{
		`{"amount":"100"}`, `{"amount":10.0}`, `{"amount":1E3}`, `{"amount":-1e0}`, `{"amount":"-0"}`, `{"amount":0.5}`,
		`{"line_items":[{"name":"Tea","unit_amount":150,"quantity":"2"}]}`, `{"lineItems":[{"quantity":2.0}]}`,
		`{"tax_rates":[{"country":"FR","percentage_bps":"2000"}]}`, `{"expires_in_minutes":"30"}`,
		`{"description":"\ud800"}`, `{"description":"a\udc00b"}`, `{"description":"\ud800\u0041"}`,
		`{"description":"\ud83d\ude00"}`, `{"description":"\\ud800"}`, `{"metadata":{"k":"\ud800"}}`,
		`{"metadata":{"\ud800":"v"}}`, `{"\ud800":1}`, `{"line_items":[{"name":"\udfff"}]}`,
		`{"branding":{"logo_url":"\ud800"}}`, `{"amount":null}`, `{"amount":-0,"description":"\ud800\udc00"}`,
		`{"site_id":"site_1","amount":5000,"line_items":[{"name":"Tea","unit_amount":150,"quantity":2}]}`,
		`{"lineItems":[{"name":"T\u00e9\n\"q\"","unitAmount":-1,"quantity":2147483647}],"metadata":{"a":"b","c":""}}`,
		`{"payment_method_types":["card","bank_transfer"],"locale":"fr"}`, `{"amount":-0}`, `{"amount":01}`,
		`{"amount":1e3}`, `{"amount":9223372036854775807}`, `{"amount":9223372036854775808}`, `{"description":"\ud83d\ude00"}`,
		`{"description":"\ud83d"}`, `{"description":"\u0000"}`, `{"metadata":{"a":"1","a":"2"}}`, `{"site_id":"a","siteId":"b"}`,
		`{"name":"x","branding":{"logo_url":"https://a.example","primary_color":"#112233"}}`, `{"branding":{}}`,
		`{"append_transaction_id":true}`, `{"append_transaction_id":1}`, `{"tax_rates":[{"country":"FR","percentage_bps":2000,"inclusive":false}]}`,
		`{"expires_at":"2024-01-16T10:00:00Z"}`, `{"metadata":null}`, ` { "site_id" : "s" } `, `{"site_id":"s"} x`, `{"site_id":"s",}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, m := range []proto.Message{&adminv1.CreateCheckoutSessionRequest{}, &adminv1.UpdateSiteRequest{},
			&adminv1.CreateSiteRequest{}, &adminv1.CreateWebhookEndpointRequest{}} {
			fast := m.ProtoReflect().New().Interface()
			if !fastDecode(data, fast.ProtoReflect()) {
				err := slowDecode(data, m.ProtoReflect().New().Interface())
				if err != nil && protojson.Unmarshal(data, m.ProtoReflect().New().Interface()) == nil &&
					err.Code != "parameter_invalid_type" && err.Code != "parameter_invalid" && err.Code != "invalid_json" {
					t.Fatalf("slowDecode(%q) refused what protojson accepts with %+v", data, err)
				}
				continue
			}
			want := m.ProtoReflect().New().Interface()
			if err := slowDecode(data, want); err != nil {
				t.Fatalf("fastDecode accepted %q for %T, the slow path refuses it: %v", data, m, err)
			}
			if !proto.Equal(fast, want) {
				t.Fatalf("fastDecode(%q) = %v, protojson %v", data, fast, want)
			}
		}
	})
}

// TestFastDecodeTakesCommonBodies: the bodies merchants send go the fast
// way (the fuzz test alone would pass if it declined everything).
func TestFastDecodeTakesCommonBodies(t *testing.T) {
	for _, body := range []string{
		`{"line_items":[{"name":"Tea","unit_amount":450,"quantity":3},{"name":"Cup","unit_amount":1299,"quantity":1}],` +
			`"currency":"EUR","success_url":"https://shop.example/ok?session_id={CHECKOUT_SESSION_ID}","cancel_url":"https://shop.example/cart",` +
			`"metadata":{"order":"1234"},"customer_email":"ada@example.com","order_id":"A-1","description":"Caf\u00e9 \"bleu\""}`,
		`{"amount": 5000, "currency": "EUR"}`,
	} {
		if !fastDecode([]byte(body), (&adminv1.CreateCheckoutSessionRequest{}).ProtoReflect()) {
			t.Errorf("declined %s", body)
		}
	}
}

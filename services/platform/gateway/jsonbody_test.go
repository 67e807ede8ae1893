package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/errs"
)

// TestDecodeForeignBody: each kind of bad body is bad input with the surface's own
// code, naming the field where there is one.
func TestDecodeForeignBody(t *testing.T) {
	type fields struct {
		Name  string         `json:"name"`
		Count int            `json:"count"`
		Meta  map[string]any `json:"meta"`
		On    bool           `json:"on"`
	}
	codes := BodyCodes{Invalid: "bad_json", TooLarge: "too_big"}
	for _, tc := range []struct{ body, field, code, message string }{
		{`{"name":"a","count":2,"meta":{"n":1.50}}`, "", "", ""},
		{`{"name":5}`, "name", "parameter_invalid_type", "name must be a string."},
		{`{"count":"5"}`, "count", "parameter_invalid_type", "count must be a number."},
		{`{"on":"yes"}`, "on", "parameter_invalid_type", "on must be true or false."},
		{`{"meta":[]}`, "meta", "parameter_invalid_type", "meta must be an object."},
		{`[1]`, "", "parameter_invalid_type", "The body must be an object."},
		{`{"extra":1}`, "extra", "parameter_unknown", "Unknown field: extra."},
		{`{}{}`, "", "bad_json", "The body must be one JSON object."},
		{``, "", "bad_json", "The body must be one JSON object."},
		{`{"name":`, "", "bad_json", "The body is not valid JSON: unexpected EOF."},
		{`{"name":"` + strings.Repeat("x", 100) + `"}`, "", "too_big", "The body is larger than the limit of 64 bytes."},
	} {
		var v fields
		body := http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(tc.body)), 64)
		err := DecodeForeignBody(body, &v, codes)
		if tc.code == "" {
			if err != nil || v.Meta["n"].(interface{ String() string }).String() != "1.50" {
				t.Errorf("%s: %v, %+v", tc.body, err, v)
			}
			continue
		}
		e, ok := errs.As(err)
		if !ok || e.Kind != errs.Invalid || e.Param != tc.field || e.Code != tc.code || e.Message != tc.message {
			t.Errorf("%s: got %#v, want %s on %q: %q", tc.body, err, tc.code, tc.field, tc.message)
		}
	}
}

package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Refund parameters are checked by admin-api before anything is forwarded to
// the runtime (this harness has none: a forwarded call would fail): each bad
// input is a 400 naming its parameter, and the Idempotency-Key replays it.
func TestCreateRefundValidation(t *testing.T) {
	e := newEnv(t)
	many := map[string]string{}
	for i := range 51 {
		many[fmt.Sprintf("k%d", i)] = "v"
	}
	for _, c := range []struct {
		name        string
		body        any
		param, code string
	}{
		{"no payment", map[string]any{"amount": 100}, "payment", "parameter_missing"},
		{"amount 0", map[string]any{"payment": "pay_1", "amount": 0}, "amount", "amount_invalid"},
		{"negative amount", map[string]any{"payment": "pay_1", "amount": -5}, "amount", "amount_invalid"},
		{"amount too large", map[string]any{"payment": "pay_1", "amount": int64(100_000_000_000)}, "amount", "amount_invalid"},
		{"amount as a string", `{"payment":"pay_1","amount":"100"}`, "amount", "parameter_invalid_type"},
		{"unknown reason", map[string]any{"payment": "pay_1", "reason": "changed_mind"}, "reason", "parameter_invalid"},
		{"too many metadata keys", map[string]any{"payment": "pay_1", "metadata": many}, "metadata", "parameter_invalid"},
		{"long metadata value", map[string]any{"payment": "pay_1", "metadata": map[string]string{"note": strings.Repeat("x", 501)}}, "metadata[note]", "parameter_invalid"},
		{"unknown parameter", map[string]any{"payment": "pay_1", "charge": "ch_1"}, "charge", ""},
	} {
		status, body := e.do("POST", "/v1/refunds", e.keyA, c.body)
		wantError(t, c.name, status, body, http.StatusBadRequest, c.param, c.code)
	}

	// A refused request is replayed for its key; other parameters with the
	// same key are an idempotency error.
	for range 2 {
		status, body := e.do("POST", "/api/v1/refunds", e.keyA, map[string]any{"payment": "pay_1", "reason": "nope"}, "Idempotency-Key", "refund-1")
		wantError(t, "keyed", status, body, http.StatusBadRequest, "reason", "parameter_invalid")
	}
	status, body := e.do("POST", "/v1/refunds", e.keyA, map[string]any{"payment": "pay_2"}, "Idempotency-Key", "refund-1")
	if _, typ, _ := apiError(body); status != http.StatusBadRequest || typ != "idempotency_error" {
		t.Errorf("key reused with other parameters: %d %v", status, body)
	}

	if status, body := e.do("POST", "/v1/refunds", "", map[string]any{"payment": "pay_1"}); status != http.StatusUnauthorized {
		t.Errorf("no key: %d %v", status, body)
	}
}

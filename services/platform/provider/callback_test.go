package provider

import (
	"errors"
	"strings"
	"testing"
)

func TestParseCallbackAccepts(t *testing.T) {
	tests := []struct {
		name, provider, body string
		want                 Callback
	}{
		{
			"test succeeded, minimal", NameTest,
			`{"id":"pevt_1","type":"payment.succeeded","payment_id":"pay_1"}`,
			Callback{ID: "pevt_1", Type: CallbackPaymentSucceeded, PaymentID: "pay_1"},
		},
		{
			"test succeeded, full", NameTest,
			`{"id":"pevt_1","type":"payment.succeeded","payment_id":"pay_1","reference":"tst_abc","amount":5000,"currency":"ghs"}`,
			Callback{ID: "pevt_1", Type: CallbackPaymentSucceeded, PaymentID: "pay_1", Reference: "tst_abc", Amount: 5000, Currency: "GHS"},
		},
		{
			"test failed with a code", NameTest,
			`{"id":"pevt_2","type":"payment.failed","payment_id":"pay_1","failure_code":"card_declined"}`,
			Callback{ID: "pevt_2", Type: CallbackPaymentFailed, PaymentID: "pay_1", FailureCode: "card_declined"},
		},
		{
			"test failed without a code", NameTest,
			`{"id":"pevt_2","type":"payment.failed","payment_id":"pay_1"}`,
			Callback{ID: "pevt_2", Type: CallbackPaymentFailed, PaymentID: "pay_1"},
		},
		{
			"whitespace and key order", NameTest,
			"\n { \"payment_id\" : \"pay_1\", \"type\":\"payment.succeeded\",\t\"id\":\"e\" } \n",
			Callback{ID: "e", Type: CallbackPaymentSucceeded, PaymentID: "pay_1"},
		},
		{
			"bank funds received", NameBankTransfer,
			`{"id":"bank_evt_9","type":"funds.received","reference":"TP-7Q2K","amount":5000,"currency":"GHS"}`,
			Callback{ID: "bank_evt_9", Type: CallbackFundsReceived, Reference: "TP-7Q2K", Amount: 5000, Currency: "GHS"},
		},
		{
			"bank, lower-case currency, zero-decimal currency", NameBankTransfer,
			`{"id":"b","type":"funds.received","reference":"R","amount":1,"currency":"jpy"}`,
			Callback{ID: "b", Type: CallbackFundsReceived, Reference: "R", Amount: 1, Currency: "JPY"},
		},
		{
			"id of 255 characters", NameTest,
			`{"id":"` + strings.Repeat("a", 255) + `","type":"payment.succeeded","payment_id":"pay_1"}`,
			Callback{ID: strings.Repeat("a", 255), Type: CallbackPaymentSucceeded, PaymentID: "pay_1"},
		},
		{
			"explicit nulls and zeros are absent", NameTest,
			`{"id":"e","type":"payment.succeeded","payment_id":"pay_1","reference":null,"amount":0,"currency":""}`,
			Callback{ID: "e", Type: CallbackPaymentSucceeded, PaymentID: "pay_1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCallback(tt.provider, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseCallbackRejects(t *testing.T) {
	long := strings.Repeat("a", 256)
	tests := []struct {
		name, provider, body string
		want                 error
	}{
		{"unknown provider", "stripe", `{"id":"e","type":"payment.succeeded","payment_id":"p"}`, ErrUnknownProvider},
		{"empty provider", "", `{}`, ErrUnknownProvider},
		{"empty body", NameTest, ``, ErrInvalidCallback},
		{"not JSON", NameTest, `id=e`, ErrInvalidCallback},
		{"array", NameTest, `[{"id":"e"}]`, ErrInvalidCallback},
		{"string", NameTest, `"x"`, ErrInvalidCallback},
		{"null", NameTest, `null`, ErrInvalidCallback},
		{"truncated", NameTest, `{"id":"e","type":"payment.succeeded"`, ErrInvalidCallback},
		{"trailing data", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":"p"} {}`, ErrInvalidCallback},
		{"trailing garbage", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":"p"}x`, ErrInvalidCallback},
		{"unknown field", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":"p","extra":1}`, ErrInvalidCallback},
		{"key in other case", NameTest, `{"ID":"e","type":"payment.succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"duplicate key", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":"p","payment_id":"q"}`, ErrInvalidCallback},
		{"nested object", NameTest, `{"id":{"x":1},"type":"payment.succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"nested array", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":["p"]}`, ErrInvalidCallback},
		{"id missing", NameTest, `{"type":"payment.succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"id empty", NameTest, `{"id":"","type":"payment.succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"id too long", NameTest, `{"id":"` + long + `","type":"payment.succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"id with a space", NameTest, `{"id":"a b","type":"payment.succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"id with a newline", NameTest, `{"id":"a\nb","type":"payment.succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"id not ASCII", NameTest, `{"id":"é","type":"payment.succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"id a number", NameTest, `{"id":1,"type":"payment.succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"test: type missing", NameTest, `{"id":"e","payment_id":"p"}`, ErrInvalidCallback},
		{"test: bank type", NameTest, `{"id":"e","type":"funds.received","payment_id":"p"}`, ErrInvalidCallback},
		{"test: type in other case", NameTest, `{"id":"e","type":"Payment.Succeeded","payment_id":"p"}`, ErrInvalidCallback},
		{"test: payment_id missing", NameTest, `{"id":"e","type":"payment.succeeded"}`, ErrInvalidCallback},
		{"test: payment_id too long", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":"` + long + `"}`, ErrInvalidCallback},
		{"test: failure_code on success", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":"p","failure_code":"x"}`, ErrInvalidCallback},
		{"test: failure_code not snake_case", NameTest, `{"id":"e","type":"payment.failed","payment_id":"p","failure_code":"Card Declined"}`, ErrInvalidCallback},
		{"test: negative amount", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":"p","amount":-1,"currency":"GHS"}`, ErrInvalidCallback},
		{"test: amount without currency", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":"p","amount":5}`, ErrInvalidCallback},
		{"bank: type missing", NameBankTransfer, `{"id":"e","reference":"R","amount":5,"currency":"GHS"}`, ErrInvalidCallback},
		{"bank: test type", NameBankTransfer, `{"id":"e","type":"payment.succeeded","reference":"R","amount":5,"currency":"GHS"}`, ErrInvalidCallback},
		{"bank: reference missing", NameBankTransfer, `{"id":"e","type":"funds.received","amount":5,"currency":"GHS"}`, ErrInvalidCallback},
		{"bank: amount missing", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","currency":"GHS"}`, ErrInvalidCallback},
		{"bank: amount zero", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":0,"currency":"GHS"}`, ErrInvalidCallback},
		{"bank: amount negative", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":-5,"currency":"GHS"}`, ErrInvalidCallback},
		{"bank: amount fractional", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":5.5,"currency":"GHS"}`, ErrInvalidCallback},
		{"bank: amount as a string", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":"5","currency":"GHS"}`, ErrInvalidCallback},
		{"bank: amount overflows", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":99999999999999999999,"currency":"GHS"}`, ErrInvalidCallback},
		{"bank: currency missing", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":5}`, ErrInvalidCallback},
		{"bank: currency two letters", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":5,"currency":"GH"}`, ErrInvalidCallback},
		{"bank: currency four letters", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":5,"currency":"GHSS"}`, ErrInvalidCallback},
		{"bank: currency not ISO", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":5,"currency":"XYZ"}`, ErrInvalidCallback},
		{"bank: currency digits", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":5,"currency":"123"}`, ErrInvalidCallback},
		{"bank: payment_id given", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":5,"currency":"GHS","payment_id":"p"}`, ErrInvalidCallback},
		{"bank: failure_code given", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"R","amount":5,"currency":"GHS","failure_code":"x"}`, ErrInvalidCallback},
		{"bank: reference with a space", NameBankTransfer, `{"id":"e","type":"funds.received","reference":"TP 7Q2K","amount":5,"currency":"GHS"}`, ErrInvalidCallback},
		{"body too large", NameTest, `{"id":"e","type":"payment.succeeded","payment_id":"p","reference":"` + strings.Repeat("r", MaxCallbackBody) + `"}`, ErrInvalidCallback},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCallback(tt.provider, []byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParseCallback = %+v, %v; want %v", got, err, tt.want)
			}
			if got != (Callback{}) {
				t.Errorf("a rejected callback returned %+v", got)
			}
		})
	}
}

func TestNewCallbacksRoundTrip(t *testing.T) {
	tests := []struct {
		provider string
		cb       Callback
	}{
		{NameTest, NewPaymentSucceeded("pay_1", "tst_abc", 5000, "ghs")},
		{NameTest, NewPaymentSucceeded("pay_1", "", 0, "")},
		{NameTest, NewPaymentFailed("pay_1", "tst_abc", DeclineCardDeclined)},
		{NameBankTransfer, NewFundsReceived("TP-7Q2K", 5000, "GHS")},
	}
	ids := map[string]bool{}
	for _, tt := range tests {
		if !strings.HasPrefix(tt.cb.ID, "pevt_") || ids[tt.cb.ID] {
			t.Errorf("callback id %q: want a fresh pevt_…", tt.cb.ID)
		}
		ids[tt.cb.ID] = true
		got, err := ParseCallback(tt.provider, tt.cb.Encode())
		if err != nil {
			t.Fatalf("%s: %v (body %s)", tt.cb.Type, err, tt.cb.Encode())
		}
		if got != tt.cb {
			t.Errorf("round trip: got %+v, want %+v", got, tt.cb)
		}
	}
	if got := NewPaymentSucceeded("p", "", 1, "ghs").Currency; got != "GHS" {
		t.Errorf("currency not upper-cased: %q", got)
	}
	// A test callback is not a bank one, and the other way round.
	if _, err := ParseCallback(NameBankTransfer, NewPaymentSucceeded("p", "r", 1, "GHS").Encode()); err == nil {
		t.Error("bank_transfer accepted a test callback")
	}
	if _, err := ParseCallback(NameTest, NewFundsReceived("R", 1, "GHS").Encode()); err == nil {
		t.Error("test accepted a bank callback")
	}
}

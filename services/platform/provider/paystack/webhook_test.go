package paystack

import (
	"errors"
	"testing"
)

// vectorBody and vectorSignature: the signature computed independently of
// this package (Python's hmac with SHA-512, key "sk_test_vector").
const (
	vectorBody      = `{"event":"charge.success","data":{"id":302961,"domain":"test","status":"success","reference":"pay_0001","amount":2500,"currency":"GHS"}}`
	vectorKey       = "sk_test_vector"
	vectorSignature = "a9980046cccc8a2b1ddf3203d0fef923d78d14822c6595c0f80434b7dfd2bae84da91319f2ef4f7884df87efcdac7f3f4d75b36a851e502016ffcc2208b6c671"
)

func TestSignatureVector(t *testing.T) {
	if got := Sign([]byte(vectorBody), vectorKey); got != vectorSignature {
		t.Fatalf("Sign = %s", got)
	}
	ev, err := ParseWebhook([]byte(vectorBody), vectorSignature, vectorKey)
	if err != nil {
		t.Fatal(err)
	}
	want := Event{ID: "charge.success:302961:pay_0001", Type: EventChargeSuccess, Reference: "pay_0001", Status: "success",
		Amount: 2500, Currency: "GHS"}
	if ev != want {
		t.Errorf("event = %+v, want %+v", ev, want)
	}
}

func TestSignatureRefused(t *testing.T) {
	for name, tc := range map[string]struct{ body, sig, key string }{
		"tampered body": {vectorBody[:len(vectorBody)-2] + `X"}`, vectorSignature, vectorKey},
		"other key":     {vectorBody, vectorSignature, "sk_test_other"},
		"no signature":  {vectorBody, "", vectorKey},
		"not hex":       {vectorBody, "zz" + vectorSignature[2:], vectorKey},
		"sha256 length": {vectorBody, vectorSignature[:64], vectorKey},
		"one digit off": {vectorBody, "b" + vectorSignature[1:], vectorKey},
		"no key":        {vectorBody, vectorSignature, ""},
	} {
		if _, err := ParseWebhook([]byte(tc.body), tc.sig, tc.key); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v, want ErrSignature", name, err)
		}
	}
}

func TestParseWebhookShapes(t *testing.T) {
	for name, tc := range map[string]struct {
		body      string
		ignorable bool
		err       error
	}{
		"failed":        {`{"event":"charge.failed","data":{"id":1,"domain":"live","status":"failed","reference":"pay_2","amount":5,"currency":"GHS"}}`, false, nil},
		"transfer":      {`{"event":"transfer.success","data":{"id":1,"reference":"x"}}`, true, nil},
		"no reference":  {`{"event":"charge.success","data":{"id":1}}`, false, ErrMalformedEvent},
		"bad reference": {`{"event":"charge.success","data":{"id":1,"reference":"a b"}}`, false, ErrMalformedEvent},
		"no id":         {`{"event":"charge.success","data":{"reference":"pay_1"}}`, false, ErrMalformedEvent},
		"no event":      {`{"data":{"id":1,"reference":"pay_1"}}`, false, ErrMalformedEvent},
		"not json":      {`event=charge.success`, false, ErrMalformedEvent},
		"string amount": {`{"event":"charge.success","data":{"id":1,"reference":"pay_1","amount":"5"}}`, false, ErrMalformedEvent},
	} {
		ev, err := ParseWebhook([]byte(tc.body), Sign([]byte(tc.body), vectorKey), vectorKey)
		if !errors.Is(err, tc.err) || (err == nil && ev.Ignorable != tc.ignorable) {
			t.Errorf("%s: %+v, %v", name, ev, err)
		}
		if name == "failed" && (!ev.Livemode || ev.Type != EventChargeFailed) {
			t.Errorf("failed: %+v", ev)
		}
	}
}

// FuzzParseWebhook: any signed body is an event or ErrMalformedEvent,
// never a panic; an event that is not ignorable has an id and a reference.
func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(vectorBody))
	f.Add([]byte(`{"event":"charge.failed","data":{"id":1e3,"reference":"p"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := ParseWebhook(body, Sign(body, vectorKey), vectorKey)
		if err != nil {
			if !errors.Is(err, ErrMalformedEvent) {
				t.Fatalf("error %v is not ErrMalformedEvent", err)
			}
			return
		}
		if !ev.Ignorable && (ev.ID == "" || !validReference(ev.Reference)) {
			t.Fatalf("event %+v lacks an id or a reference", ev)
		}
	})
}

// FuzzParseWallet: no input panics, and a number accepted is E.164.
func FuzzParseWallet(f *testing.F) {
	f.Add("GHS", "055 123 4987", "mtn")
	f.Add("KES", "+254710000000", "mpesa")
	f.Fuzz(func(t *testing.T, currency, phone, network string) {
		got, err := ParseWallet(currency, phone, network)
		if err == nil && (len(got) != 13 || got[0] != '+') {
			t.Fatalf("accepted %q as %q", phone, got)
		}
	})
}

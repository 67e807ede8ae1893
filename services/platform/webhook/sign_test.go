package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// webhookVectors is testdata/webhook-vectors.json: signatures taken from the
// Standard Webhooks specification or computed with openssl, never with this
// package.
type webhookVectors struct {
	Sign []struct {
		Name      string   `json:"name"`
		Secrets   []string `json:"secrets"`
		ID        string   `json:"id"`
		Timestamp int64    `json:"timestamp"`
		Body      string   `json:"body"`
		Signature string   `json:"signature"`
	} `json:"sign"`
	Verify []struct {
		Name      string `json:"name"`
		Secret    string `json:"secret"`
		ID        string `json:"id"`
		Timestamp string `json:"timestamp"`
		Signature string `json:"signature"`
		Body      string `json:"body"`
		Now       int64  `json:"now"`
		Error     string `json:"error"`
	} `json:"verify"`
}

var verifyErrorByName = map[string]error{
	"":                       nil,
	"ErrMissingHeaders":      ErrMissingHeaders,
	"ErrInvalidTimestamp":    ErrInvalidTimestamp,
	"ErrTimestampTolerance":  ErrTimestampTolerance,
	"ErrNoMatchingSignature": ErrNoMatchingSignature,
}

func loadVectors(t *testing.T) webhookVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/webhook-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v webhookVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Sign) == 0 || len(v.Verify) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

func parseSecrets(t *testing.T, secrets []string) [][]byte {
	t.Helper()
	keys := make([][]byte, len(secrets))
	for i, s := range secrets {
		k, err := ParseSecret(s)
		if err != nil {
			t.Fatalf("ParseSecret(%q): %v", s, err)
		}
		keys[i] = k
	}
	return keys
}

func TestSignGoldenVectors(t *testing.T) {
	for _, tt := range loadVectors(t).Sign {
		t.Run(tt.Name, func(t *testing.T) {
			keys := parseSecrets(t, tt.Secrets)
			ts := time.Unix(tt.Timestamp, 0)
			if got := Sign(tt.ID, ts, []byte(tt.Body), keys...); got != tt.Signature {
				t.Errorf("Sign = %q\nwant   %q", got, tt.Signature)
			}
			h := Headers(tt.ID, ts, []byte(tt.Body), keys...)
			want := map[string]string{
				"webhook-id":        tt.ID,
				"webhook-timestamp": strconv.FormatInt(tt.Timestamp, 10),
				"webhook-signature": tt.Signature,
				"content-type":      "application/json",
				"user-agent":        "Tillpoint-Webhooks/1",
			}
			for k, v := range want {
				if got := h.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if len(h) != len(want) {
				t.Errorf("headers = %v, want exactly %d", h, len(want))
			}
			// Each key verifies the message on its own, with our Verify.
			for _, k := range keys {
				if err := Verify(k, h, []byte(tt.Body), ts); err != nil {
					t.Errorf("Verify: %v", err)
				}
			}
		})
	}
}

func TestVerifyVectors(t *testing.T) {
	for _, tt := range loadVectors(t).Verify {
		t.Run(tt.Name, func(t *testing.T) {
			want, ok := verifyErrorByName[tt.Error]
			if !ok {
				t.Fatalf("unknown error name %q", tt.Error)
			}
			key := parseSecrets(t, []string{tt.Secret})[0]
			h := http.Header{}
			for k, v := range map[string]string{HeaderID: tt.ID, HeaderTimestamp: tt.Timestamp, HeaderSignature: tt.Signature} {
				if v != "" {
					h.Set(k, v)
				}
			}
			err := Verify(key, h, []byte(tt.Body), time.Unix(tt.Now, 0))
			if want == nil && err != nil || want != nil && !errors.Is(err, want) {
				t.Errorf("Verify = %v, want %v", err, want)
			}
		})
	}
}

// TestOfficialLibraryVerifies checks our headers with the Standard Webhooks
// Go library, for a single secret and for both secrets of a rotation. The
// library checks the timestamp against time.Now, so we sign with it.
func TestOfficialLibraryVerifies(t *testing.T) {
	oldSecret, newSecret := NewSecret(), NewSecret()
	keys := parseSecrets(t, []string{oldSecret, newSecret})
	body := []byte(`{"id":"evt_1","object":"event","type":"payment.succeeded","data":{"object":{"amount":1050}}}`)
	now := time.Now()

	tests := []struct {
		name    string
		sign    [][]byte
		secrets []string // each must verify
		wrong   []string // each must not
	}{
		{"single", keys[:1], []string{oldSecret}, []string{newSecret}},
		{"rotation", keys, []string{oldSecret, newSecret}, []string{NewSecret()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := Headers("evt_1", now, body, tt.sign...)
			if n := len(strings.Fields(h.Get(HeaderSignature))); n != len(tt.sign) {
				t.Fatalf("%d signatures in %q, want %d", n, h.Get(HeaderSignature), len(tt.sign))
			}
			for _, s := range tt.secrets {
				wh, err := standardwebhooks.NewWebhook(s)
				if err != nil {
					t.Fatal(err)
				}
				if err := wh.Verify(body, h); err != nil {
					t.Errorf("official Verify with %s: %v", s, err)
				}
				// Without the prefix too, as some receivers store it.
				wh, err = standardwebhooks.NewWebhook(strings.TrimPrefix(s, SecretPrefix))
				if err != nil {
					t.Fatal(err)
				}
				if err := wh.Verify(body, h); err != nil {
					t.Errorf("official Verify with bare %s: %v", s, err)
				}
				if err := wh.Verify(append(body, ' '), h); err == nil {
					t.Error("official Verify accepted a changed body")
				}
			}
			for _, s := range tt.wrong {
				wh, err := standardwebhooks.NewWebhook(s)
				if err != nil {
					t.Fatal(err)
				}
				if err := wh.Verify(body, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
					t.Errorf("official Verify with an unrelated secret = %v, want no matching signature", err)
				}
			}
		})
	}
}

// TestOfficialLibrarySignsTheSame compares Sign with the library's own
// signer over a range of messages (it signs with one key at a time).
func TestOfficialLibrarySignsTheSame(t *testing.T) {
	bodies := []string{"", "{}", `{"a":"é€😀"}`, strings.Repeat("x", 10000), "not json\n\x00\xff"}
	for i, body := range bodies {
		secret := NewSecret()
		key := parseSecrets(t, []string{secret})[0]
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		ts := time.Unix(1700000000+int64(i), 0)
		want, err := wh.Sign("msg_"+strconv.Itoa(i), ts, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if got := Sign("msg_"+strconv.Itoa(i), ts, []byte(body), key); got != want {
			t.Errorf("body %d: Sign = %q, library = %q", i, got, want)
		}
	}
}

func TestVerifyRoundTrip(t *testing.T) {
	key := parseSecrets(t, []string{NewSecret()})[0]
	other := parseSecrets(t, []string{NewSecret()})[0]
	body := []byte(`{"ok":true}`)
	ts := time.Unix(1735689600, 0)
	h := Headers("evt_x", ts, body, other, key)
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"same time", ts, nil},
		{"receiver 5 min ahead", ts.Add(5 * time.Minute), nil},
		{"receiver 5 min behind", ts.Add(-5 * time.Minute), nil},
		{"too old", ts.Add(5*time.Minute + time.Second), ErrTimestampTolerance},
		{"too new", ts.Add(-5*time.Minute - time.Second), ErrTimestampTolerance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(key, h, body, tt.now)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
	if err := Verify(key, Headers("evt_x", ts, body), body, ts); !errors.Is(err, ErrMissingHeaders) {
		t.Errorf("Verify of unsigned headers = %v, want ErrMissingHeaders", err)
	}
	if got := Sign("evt_x", ts, body); got != "" {
		t.Errorf("Sign without secrets = %q, want empty", got)
	}
}

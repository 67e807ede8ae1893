package webhook

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test vector of the Standard Webhooks specification.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func headers(sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", vecID)
	h.Set("webhook-timestamp", "1614265330")
	h.Set("webhook-signature", sig)
	return h
}

func TestVerifyStandardWebhooksVector(t *testing.T) {
	at := time.Unix(vecTS, 0)
	for _, tc := range []struct {
		name string
		body string
		h    http.Header
		now  time.Time
		want error
	}{
		{"valid", vecBody, headers(vecSig), at, nil},
		{"rotation: second signature matches", vecBody, headers("v1,bm90IGl0 " + vecSig), at, nil},
		{"other versions are ignored", vecBody, headers("v1a," + vecSig[3:]), at, ErrNoMatchingSignature},
		{"tampered body", `{"test": 2432232315}`, headers(vecSig), at, ErrNoMatchingSignature},
		{"too old", vecBody, headers(vecSig), at.Add(Tolerance + time.Second), ErrTimestampTolerance},
		{"from the future", vecBody, headers(vecSig), at.Add(-Tolerance - time.Second), ErrTimestampTolerance},
		{"no signature", vecBody, headers(""), at, ErrMissingHeaders},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := VerifyAt([]byte(tc.body), tc.h, vecSecret, tc.now)
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyAt = %v, want %v", err, tc.want)
			}
		})
	}
	h := headers(vecSig)
	h.Set("webhook-timestamp", "soon")
	if err := VerifyAt([]byte(vecBody), h, vecSecret, at); !errors.Is(err, ErrInvalidTimestamp) {
		t.Errorf("bad timestamp: %v", err)
	}
	if err := VerifyAt([]byte(vecBody), headers(vecSig), "whsec_!!", at); !errors.Is(err, ErrInvalidSecret) {
		t.Errorf("bad secret: %v", err)
	}
}

// FuzzVerify: no header, body or secret makes Verify panic, and only the
// genuine message verifies.
func FuzzVerify(f *testing.F) {
	f.Add(vecBody, vecID, "1614265330", vecSig, vecSecret)
	f.Add(vecBody, vecID, "-99999999999999999999", "v1,"+vecSig[3:]+" v1", "whsec_")
	f.Fuzz(func(t *testing.T, body, id, ts, sig, secret string) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		err := VerifyAt([]byte(body), h, secret, time.Unix(vecTS, 0))
		n, perr := strconv.ParseInt(ts, 10, 64)
		genuine := body == vecBody && id == vecID && perr == nil && n == vecTS && strings.TrimPrefix(secret, "whsec_") == vecSecret[len("whsec_"):]
		if err == nil && !genuine {
			t.Fatalf("verified a message that is not the vector's: %q %q %q %q", body, id, ts, secret)
		}
	})
}

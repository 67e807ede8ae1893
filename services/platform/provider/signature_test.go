package provider

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// signatureVectors is testdata/signature-vectors.json: headers computed with
// openssl, not with this package.
type signatureVectors struct {
	Sign []struct {
		Name      string   `json:"name"`
		Secrets   []string `json:"secrets"`
		Timestamp int64    `json:"timestamp"`
		Body      string   `json:"body"`
		Header    string   `json:"header"`
	} `json:"sign"`
	Verify []struct {
		Name   string `json:"name"`
		Secret string `json:"secret"`
		Header string `json:"header"`
		Body   string `json:"body"`
		Now    int64  `json:"now"`
		Error  string `json:"error"`
	} `json:"verify"`
}

var sentinelByName = map[string]error{
	"":                nil,
	"ErrNoSignature":  ErrNoSignature,
	"ErrBadSignature": ErrBadSignature,
	"ErrTimestamp":    ErrTimestamp,
	"ErrNoSecret":     ErrNoSecret,
}

func loadSignatureVectors(t *testing.T) signatureVectors {
	t.Helper()
	b, err := os.ReadFile("testdata/signature-vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v signatureVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Sign) == 0 || len(v.Verify) == 0 {
		t.Fatal("no vectors")
	}
	return v
}

func TestSignatureGoldenVectors(t *testing.T) {
	v := loadSignatureVectors(t)
	for _, tt := range v.Sign {
		t.Run("sign/"+tt.Name, func(t *testing.T) {
			secrets := make([][]byte, len(tt.Secrets))
			for i, s := range tt.Secrets {
				secrets[i] = []byte(s)
			}
			at := time.Unix(tt.Timestamp, 0)
			if got := SignMulti(secrets, []byte(tt.Body), at); got != tt.Header {
				t.Errorf("SignMulti = %q, want %q", got, tt.Header)
			}
			if len(secrets) == 1 {
				if got := Sign(secrets[0], []byte(tt.Body), at); got != tt.Header {
					t.Errorf("Sign = %q, want %q", got, tt.Header)
				}
			}
			for _, s := range secrets {
				if err := Verify(s, tt.Header, []byte(tt.Body), at); err != nil {
					t.Errorf("Verify with %q: %v", s, err)
				}
			}
		})
	}
	for _, tt := range v.Verify {
		t.Run("verify/"+tt.Name, func(t *testing.T) {
			want, ok := sentinelByName[tt.Error]
			if !ok {
				t.Fatalf("unknown error name %q", tt.Error)
			}
			err := Verify([]byte(tt.Secret), tt.Header, []byte(tt.Body), time.Unix(tt.Now, 0))
			if !errors.Is(err, want) || (want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, want)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	secret := []byte("whsec_round_trip")
	body := []byte(`{"id":"pevt_1","type":"payment.succeeded","payment_id":"pay_1"}`)
	now := time.Date(2026, time.March, 15, 12, 0, 0, 0, time.UTC)
	header := Sign(secret, body, now)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := hex.EncodeToString(computeSignature(secret, ts, body))
	otherSig := hex.EncodeToString(computeSignature([]byte("another"), ts, body))

	tests := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"round trip", secret, header, body, now, nil},
		{"4:59 later", secret, header, body, now.Add(4*time.Minute + 59*time.Second), nil},
		{"exactly 5 min later", secret, header, body, now.Add(SignatureTolerance), nil},
		{"5 min 1 s later: too old", secret, header, body, now.Add(SignatureTolerance + time.Second), ErrTimestamp},
		{"an hour later", secret, header, body, now.Add(time.Hour), ErrTimestamp},
		{"exactly 5 min earlier", secret, header, body, now.Add(-SignatureTolerance), nil},
		{"from the future", secret, header, body, now.Add(-SignatureTolerance - time.Second), ErrTimestamp},
		{"tampered body", secret, header, []byte(strings.Replace(string(body), "pay_1", "pay_2", 1)), now, ErrBadSignature},
		{"body with a trailing newline", secret, header, append(append([]byte(nil), body...), '\n'), now, ErrBadSignature},
		{"wrong secret", []byte("whsec_wrong"), header, body, now, ErrBadSignature},
		{"tampered timestamp", secret, "t=" + strconv.FormatInt(now.Unix()+1, 10) + ",v1=" + sig, body, now, ErrBadSignature},
		{"two v1, second matches", secret, "t=" + ts + ",v1=" + otherSig + ",v1=" + sig, body, now, nil},
		{"two v1, first matches", secret, "t=" + ts + ",v1=" + sig + ",v1=" + otherSig, body, now, nil},
		{"two v1, none matches", []byte("third"), "t=" + ts + ",v1=" + otherSig + ",v1=" + sig, body, now, ErrBadSignature},
		{"v1 before t", secret, "v1=" + sig + ",t=" + ts, body, now, nil},
		{"spaces around entries", secret, " t=" + ts + " , v1=" + sig + " ", body, now, nil},
		{"upper-case hex", secret, "t=" + ts + ",v1=" + strings.ToUpper(sig), body, now, nil},
		{"other schemes ignored", secret, "t=" + ts + ",v0=abc,v2=zz,v1=" + sig, body, now, nil},
		{"empty header", secret, "", body, now, ErrNoSignature},
		{"blank header", secret, "   ", body, now, ErrNoSignature},
		{"no v1", secret, "t=" + ts, body, now, ErrNoSignature},
		{"only another scheme", secret, "t=" + ts + ",v0=" + sig, body, now, ErrNoSignature},
		{"no timestamp", secret, "v1=" + sig, body, now, ErrTimestamp},
		{"two timestamps", secret, "t=" + ts + ",t=" + ts + ",v1=" + sig, body, now, ErrTimestamp},
		{"empty timestamp", secret, "t=,v1=" + sig, body, now, ErrTimestamp},
		{"negative timestamp", secret, "t=-1,v1=" + sig, body, now, ErrTimestamp},
		{"signed timestamp", secret, "t=+" + ts + ",v1=" + sig, body, now, ErrTimestamp},
		{"fractional timestamp", secret, "t=" + ts + ".5,v1=" + sig, body, now, ErrTimestamp},
		{"overflowing timestamp", secret, "t=99999999999999999999,v1=" + sig, body, now, ErrTimestamp},
		{"huge but valid int64 timestamp", secret, "t=9223372036854775807,v1=" + sig, body, now, ErrBadSignature},
		{"non-hex v1", secret, "t=" + ts + ",v1=" + strings.Repeat("z", 64), body, now, ErrBadSignature},
		{"short v1", secret, "t=" + ts + ",v1=" + sig[:62], body, now, ErrBadSignature},
		{"empty v1", secret, "t=" + ts + ",v1=", body, now, ErrBadSignature},
		{"entry without =", secret, "t=" + ts + ",v1=" + sig + ",junk", body, now, ErrBadSignature},
		{"trailing comma", secret, "t=" + ts + ",v1=" + sig + ",", body, now, ErrBadSignature},
		{"semicolons", secret, "t=" + ts + ";v1=" + sig, body, now, ErrTimestamp},
		{"garbage", secret, "garbage", body, now, ErrBadSignature},
		{"oversized header", secret, "t=" + ts + ",v1=" + sig + strings.Repeat(",v0=x", 1000), body, now, ErrBadSignature},
		{"empty secret", nil, header, body, now, ErrNoSecret},
		{"empty secret, empty key signature", []byte{}, Sign(nil, body, now), body, now, ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.header, tt.body, tt.now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			if err != nil {
				// Errors never reveal the secret or the expected signature.
				msg := strings.ToLower(err.Error())
				if strings.Contains(msg, sig) || (len(tt.secret) > 0 && strings.Contains(msg, string(tt.secret))) {
					t.Errorf("error %q reveals the secret or the signature", err)
				}
			}
		})
	}
}

func TestVerifyAny(t *testing.T) {
	body := []byte(`{}`)
	now := time.Unix(1_700_000_000, 0)
	oldKey, newKey := []byte("old"), []byte("new")
	tests := []struct {
		name    string
		secrets [][]byte
		header  string
		want    error
	}{
		{"receiver rotating, sender on old", [][]byte{newKey, oldKey}, Sign(oldKey, body, now), nil},
		{"receiver rotating, sender on new", [][]byte{newKey, oldKey}, Sign(newKey, body, now), nil},
		{"sender rotating, receiver on old", [][]byte{oldKey}, SignMulti([][]byte{oldKey, newKey}, body, now), nil},
		{"neither", [][]byte{[]byte("x"), []byte("y")}, Sign(oldKey, body, now), ErrBadSignature},
		{"no secrets", nil, Sign(oldKey, body, now), ErrNoSecret},
		{"one empty secret", [][]byte{newKey, {}}, Sign(newKey, body, now), ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyAny(tt.secrets, tt.header, body, now)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("VerifyAny = %v, want %v", err, tt.want)
			}
		})
	}
}

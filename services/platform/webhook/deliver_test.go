package webhook

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestDeliver(t *testing.T) {
	secret, err := ParseSecret(NewSecret())
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"id":"evt_1","object":"event","type":"payment.succeeded"}`)
	tests := []struct {
		name        string
		status      int
		respBody    string
		wantOK      bool
		wantExcerpt string
	}{
		{"200", 200, `{"received":true}`, true, `{"received":true}`},
		{"204 no body", 204, "", true, ""},
		{"299", 299, "fine", true, "fine"},
		{"410 gone", 410, "endpoint removed", false, "endpoint removed"},
		{"500", 500, "boom", false, "boom"},
		{"304", 304, "", false, ""},
		{"long body", 200, strings.Repeat("x", 5000), true, strings.Repeat("x", 1024)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotMethod string
			var verifyErr error
			srv := newCountingServer(t, "127.0.0.1:0", false, func(w http.ResponseWriter, r *http.Request) {
				gotMethod = r.Method
				b, _ := io.ReadAll(r.Body)
				verifyErr = Verify(secret, r.Header, b, time.Now())
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.respBody)
			})
			client := NewClient(ClientOptions{AllowPrivate: true})
			h := Headers("evt_1", time.Now(), body, secret)
			res := Deliver(t.Context(), client, srv.URL+"/hook", h, body)
			if res.OK() != tt.wantOK || res.Status != tt.status || res.ResponseExcerpt != tt.wantExcerpt {
				t.Errorf("Result = {Status %d, OK %v, Excerpt %.40q…, Err %v}; want {%d, %v, %.40q…}",
					res.Status, res.OK(), res.ResponseExcerpt, res.Err, tt.status, tt.wantOK, tt.wantExcerpt)
			}
			if !tt.wantOK && !errors.Is(res.Err, ErrStatus) {
				t.Errorf("Err = %v, want ErrStatus", res.Err)
			}
			if res.Latency <= 0 {
				t.Errorf("Latency = %v", res.Latency)
			}
			if gotMethod != http.MethodPost || verifyErr != nil {
				t.Errorf("server saw %s, Verify = %v", gotMethod, verifyErr)
			}
		})
	}
}

func TestDeliverDefaultsHeaders(t *testing.T) {
	var got http.Header
	srv := newCountingServer(t, "127.0.0.1:0", false, func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() })
	h := http.Header{"X-Extra": {"1"}}
	if res := Deliver(t.Context(), NewClient(ClientOptions{AllowPrivate: true}), srv.URL, h, nil); !res.OK() {
		t.Fatal(res.Err)
	}
	if got.Get("Content-Type") != "application/json" || got.Get("User-Agent") != UserAgent || got.Get("X-Extra") != "1" {
		t.Errorf("headers = %v", got)
	}
	if len(h) != 1 {
		t.Errorf("Deliver changed the caller's headers: %v", h)
	}
}

func TestDeliverRejectsBadInput(t *testing.T) {
	client := NewClient(ClientOptions{AllowPrivate: true})
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/", "gopher://127.0.0.1:70/", "://x", "", "http://[::1"} {
		if res := Deliver(t.Context(), client, u, nil, nil); res.Err == nil || res.Status != 0 {
			t.Errorf("Deliver(%q) = %+v, want an error", u, res)
		}
	}
	if res := Deliver(t.Context(), nil, "https://example.com", nil, nil); res.Err == nil {
		t.Error("Deliver with a nil client succeeded")
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name      string
		in        []byte
		truncated bool
		want      string
	}{
		{"ascii", []byte("hello"), false, "hello"},
		{"utf-8", []byte("héllo €"), false, "héllo €"},
		{"invalid byte", []byte("a\xffb"), false, "a\uFFFDb"},
		{"rune cut by the limit", append(bytes.Repeat([]byte("a"), 1022), "€"[:2]...), true, strings.Repeat("a", 1022)},
		{"incomplete rune at a real end", []byte("a\xe2\x82"), false, "a\uFFFD\uFFFD"},
		{"all invalid, capped at 1 KiB", bytes.Repeat([]byte{0xff}, 1024), true, strings.Repeat("\uFFFD", 341)},
	}
	for _, tt := range tests {
		got := excerpt(tt.in, tt.truncated)
		if got != tt.want {
			t.Errorf("%s: excerpt = %.60q, want %.60q", tt.name, got, tt.want)
		}
		if !utf8.ValidString(got) || len(got) > 1024 {
			t.Errorf("%s: excerpt is %d bytes, valid UTF-8 %v", tt.name, len(got), utf8.ValidString(got))
		}
	}
}

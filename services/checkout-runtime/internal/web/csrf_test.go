package web

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// TestCSRFDuringRotation: while INTERNAL_TOKEN is rotated, a form signed by
// a replica with the other token (its key among CSRFKeysAccepted) still
// posts; a key no longer accepted, or never, does not.
func TestCSRFDuringRotation(t *testing.T) {
	current, previous, stranger := []byte("current-key"), []byte("previous-key"), []byte("stranger-key")
	const cookie, sessionID = "cookie-value-0123456789abcdef", "cs_rotation"
	post := func(h *Handler, signedWith []byte) bool {
		form := url.Values{"csrf_token": {signCSRF(signedWith, cookie, sessionID)}}
		r := httptest.NewRequest("POST", "/checkout/"+sessionID, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Cookie", csrfCookie+"="+cookie)
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		return h.validCSRF(r, sessionID)
	}
	rotating := &Handler{CSRFKey: current, CSRFKeysAccepted: [][]byte{previous}}
	settled := &Handler{CSRFKey: current}
	for _, c := range []struct {
		name string
		h    *Handler
		key  []byte
		want bool
	}{
		{"current key", rotating, current, true},
		{"previous key during the rotation", rotating, previous, true},
		{"unknown key", rotating, stranger, false},
		{"previous key after the rotation", settled, previous, false},
		{"current key after the rotation", settled, current, true},
	} {
		if got := post(c.h, c.key); got != c.want {
			t.Errorf("%s: valid = %v, want %v", c.name, got, c.want)
		}
	}
}

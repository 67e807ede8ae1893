package webhook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// maxExcerpt is how much of a response body is kept in the attempt
	// log: enough for an error message, small enough to store per attempt.
	maxExcerpt = 1 << 10
	// maxDrain is how much more of the body is read, and thrown away, so
	// the connection can be reused; past it the connection is closed.
	maxDrain = 64 << 10
)

// ErrStatus is wrapped by Result.Err when the endpoint answered with a
// status other than 2xx (3xx included: redirects are not followed).
var ErrStatus = errors.New("webhook: endpoint did not answer 2xx")

// Result is the outcome of one delivery attempt, as logged.
type Result struct {
	// Status is the HTTP status of the response, 0 when there was none.
	Status int
	// Latency is the time from sending the request until the response
	// headers arrived or the attempt failed.
	Latency time.Duration
	// ResponseExcerpt is the start of the response body, at most 1 KiB of
	// valid UTF-8 (invalid bytes replaced, a rune cut at the end dropped).
	ResponseExcerpt string
	// Err is nil exactly when the delivery succeeded (a 2xx status). It
	// wraps ErrStatus for other statuses, and the transport error (such as
	// a *BlockedAddressError or a timeout) when there was no response.
	Err error
	// Message is Err as the merchant sees it in the attempt log: a fixed
	// text per kind of failure, without internal addresses (see
	// DescribeError); "" on success. Err itself goes to our logs only.
	Message string
}

// badURL is the message of a URL that cannot be sent to (stored before the
// rules of ValidateURL, or changed by hand).
const badURL = "the endpoint URL is not valid"

// OK reports whether the delivery succeeded.
func (r Result) OK() bool { return r.Err == nil }

// Deliver makes one delivery attempt: a POST of body to rawURL with the
// headers h (see Headers), using client (see NewClient). It does not retry.
func Deliver(ctx context.Context, client *http.Client, rawURL string, h http.Header, body []byte) Result {
	if client == nil {
		return Result{Err: errors.New("webhook: nil HTTP client"), Message: "internal error"}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return Result{Err: fmt.Errorf("webhook: endpoint URL: %w", err), Message: badURL}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Result{Err: fmt.Errorf("webhook: endpoint URL: scheme %q is not http or https", u.Scheme), Message: badURL}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return Result{Err: fmt.Errorf("webhook: %w", err), Message: badURL}
	}
	req.Header = h.Clone()
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}

	start := time.Now()
	resp, err := client.Do(req)
	res := Result{Latency: time.Since(start)}
	if err != nil {
		res.Err = err
		res.Message = DescribeError(err, cmp.Or(client.Timeout, DefaultTimeout))
		return res
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	// A read error here (such as the client timeout) does not change the
	// outcome: the endpoint has answered.
	head, _ := io.ReadAll(io.LimitReader(resp.Body, maxExcerpt))
	res.ResponseExcerpt = excerpt(head, len(head) == maxExcerpt)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		res.Err = fmt.Errorf("%w: status %d", ErrStatus, resp.StatusCode)
		res.Message = fmt.Sprintf("the endpoint answered %d, not 2xx", resp.StatusCode)
	}
	return res
}

// excerpt turns the first bytes of a body into valid UTF-8 of at most
// maxExcerpt bytes: invalid bytes become U+FFFD, and when truncated is set
// an incomplete rune at the end (cut by the byte limit) is dropped.
func excerpt(b []byte, truncated bool) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var out strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 && truncated && !utf8.FullRune(b) {
			break
		}
		if out.Len()+utf8.RuneLen(r) > maxExcerpt {
			break
		}
		out.WriteRune(r)
		b = b[size:]
	}
	return out.String()
}

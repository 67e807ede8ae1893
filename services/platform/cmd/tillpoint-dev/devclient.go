package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/money"
)

// apiTimeout bounds one merchant-API call from listen or trigger: the dev
// stack answers in milliseconds, so a call this slow means it is stuck.
const apiTimeout = 30 * time.Second

// maxAPIResponse bounds what is read of an API answer (the API's own request
// limit is 1 MiB; a list of 100 sessions stays well under this).
const maxAPIResponse = 8 << 20

// devStack is what listen and trigger need of $TILLPOINT_DEV_DIR/stack.json,
// written by `tillpoint-dev run`.
type devStack struct {
	AdminAPIURL string `json:"admin_api_url"`
	CheckoutURL string `json:"checkout_url"`
	HooksURL    string `json:"hooks_url"`
	SiteID      string `json:"site_id"`
	SecretKey   string `json:"secret_key"`
	// BankFeedTestSecret signs the simulated bank feed's credits (trigger
	// --method bank_transfer settles its payment with one).
	BankFeedTestSecret string `json:"bank_feed_test_secret"`
}

// defaultDevDir is the dev directory when --dir is not given, as for run.
func defaultDevDir() string { return envOr("TILLPOINT_DEV_DIR", ".dev") }

// loadDevStack reads dir/stack.json, saying how to get one when it is missing.
func loadDevStack(dir string) (devStack, error) {
	path := filepath.Join(dir, "stack.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return devStack{}, fmt.Errorf("%s not found: start the dev stack first (make run, or tillpoint-dev run --dir %s)", path, dir)
	} else if err != nil {
		return devStack{}, err
	}
	var st devStack
	if err := json.Unmarshal(b, &st); err != nil {
		return devStack{}, fmt.Errorf("%s: %w", path, err)
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"admin_api_url", st.AdminAPIURL}, {"site_id", st.SiteID}, {"secret_key", st.SecretKey}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return devStack{}, fmt.Errorf("%s: missing %s", path, strings.Join(missing, ", "))
	}
	return st, nil
}

// devHTTPClient is an HTTP client for the dev stack: it reaches *.localhost
// on loopback and, like a webhook sender or an API client, never follows
// redirects (an answer is shown as it is).
func devHTTPClient(timeout time.Duration) *http.Client {
	c := httpx.LocalhostClient(timeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// apiClient calls the merchant API of the dev stack with its test key.
type apiClient struct {
	baseURL string
	key     string
	http    *http.Client
}

func newAPIClient(st devStack) *apiClient {
	return &apiClient{baseURL: strings.TrimRight(st.AdminAPIURL, "/"), key: st.SecretKey, http: devHTTPClient(apiTimeout)}
}

// apiError is an error answer of the merchant API.
type apiError struct {
	Status  int
	Type    string `json:"type"`
	Code    string `json:"code"`
	Param   string `json:"param"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	s := fmt.Sprintf("API answered %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Param != "" {
		s += " (" + e.Param + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// call sends in (when not nil) as JSON and decodes a 2xx answer into out
// (when not nil); any other answer is an *apiError.
func (c *apiClient) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is the dev stack running?)", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAPIResponse))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error apiError `json:"error"`
		}
		_ = json.Unmarshal(b, &e)
		e.Error.Status = resp.StatusCode
		if e.Error.Message == "" && e.Error.Code == "" {
			e.Error.Message = excerptText(b)
		}
		return fmt.Errorf("%s %s: %w", method, path, &e.Error)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// excerptText is the start of a non-JSON answer, on one line.
func excerptText(b []byte) string {
	const limit = 200
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}

// intValue reads an amount from decoded JSON: a number, or a string of
// digits (protojson writes int64 fields as strings).
func intValue(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		if err != nil {
			f, ferr := n.Float64()
			return int64(f), ferr == nil
		}
		return i, true
	case float64:
		return int64(n), true
	case string:
		i, err := strconv.ParseInt(n, 10, 64)
		return i, err == nil
	}
	return 0, false
}

// formatAmount renders an amount in minor units for people ("€26.49"),
// falling back to "2649 XYZ" for a currency we do not know.
func formatAmount(amount int64, currency string) string {
	cur, err := money.ParseCurrency(strings.ToUpper(currency))
	if err != nil {
		return strconv.FormatInt(amount, 10) + " " + currency
	}
	return money.Format(amount, cur, language.English)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

const (
	// defaultTestCard is the test provider's card that always succeeds.
	defaultTestCard = "4242424242424242"
	// defaultTriggerAmount is €26.49 (in minor units): a tea-shop basket.
	defaultTriggerAmount = 2649
	// maxPage bounds what is read of a checkout page or form answer.
	maxPage = 2 << 20
	// pageTimeout bounds one request to the hosted page.
	pageTimeout = 30 * time.Second
)

// Billing details trigger pays with: a French address, so the demo site's
// tax rates apply as for a real payer.
const (
	testPayerName    = "Test Payer"
	testPayerEmail   = "test.payer@example.com"
	testPayerCountry = "FR"
	testPayerPostal  = "75001"
	testCardExp      = "12/34"
	testCardCVC      = "123"
)

// triggerOptions are the flags of `tillpoint-dev trigger`.
type triggerOptions struct {
	Dir      string
	Card     string
	Method   string
	Amount   int64
	Currency string
	// Unsettled leaves a bank transfer waiting for its money, as a real
	// one does until the bank feed reports it.
	Unsettled bool
}

func parseTriggerFlags(args []string, stderr io.Writer) (triggerOptions, error) {
	fs := flag.NewFlagSet("trigger", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o triggerOptions
	fs.StringVar(&o.Dir, "dir", defaultDevDir(), "dev directory holding stack.json ($TILLPOINT_DEV_DIR)")
	fs.StringVar(&o.Card, "card", defaultTestCard, "test card number (see README, Test mode)")
	fs.StringVar(&o.Method, "method", "card", "payment method: card or bank_transfer")
	fs.Int64Var(&o.Amount, "amount", defaultTriggerAmount, "amount in the currency's minor unit")
	fs.StringVar(&o.Currency, "currency", "EUR", "ISO 4217 currency code")
	fs.BoolVar(&o.Unsettled, "unsettled", false, "bank_transfer: leave the payment waiting instead of sending the simulated bank feed's credit")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("trigger: unexpected arguments %q", fs.Args())
	}
	if o.Method != "card" && o.Method != "bank_transfer" {
		return o, fmt.Errorf("trigger: --method must be card or bank_transfer, not %q", o.Method)
	}
	if o.Amount <= 0 {
		return o, fmt.Errorf("trigger: --amount must be positive, not %d", o.Amount)
	}
	o.Currency = strings.ToUpper(strings.TrimSpace(o.Currency))
	o.Card = strings.NewReplacer(" ", "", "-", "").Replace(o.Card)
	return o, nil
}

// checkoutSession is the part of the API's session object trigger uses.
type checkoutSession struct {
	ID          string `json:"id"`
	URL         string `json:"url"`
	AmountTotal any    `json:"amount_total"` // protojson writes int64 as a string
	Currency    string `json:"currency"`
	Reference   string `json:"reference"`
}

// formResult is the hosted page's JSON answer to a form post.
type formResult struct {
	Status      string `json:"status"`
	RedirectURL string `json:"redirect_url"`
	Error       *struct {
		Code    string `json:"code"`
		Param   string `json:"param"`
		Message string `json:"message"`
	} `json:"error"`
}

// runTrigger creates a test session through the API and pays it through the
// hosted page's form contract, as a payer's browser would.
func runTrigger(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseTriggerFlags(args, stderr)
	if err != nil {
		return err
	}
	st, err := loadDevStack(o.Dir)
	if err != nil {
		return err
	}
	var cs checkoutSession
	err = newAPIClient(st).call(ctx, http.MethodPost, "/v1/checkouts/"+url.PathEscape(st.SiteID)+"/create", map[string]any{
		"amount":      o.Amount,
		"currency":    o.Currency,
		"success_url": "http://localhost:8000/success?session_id={CHECKOUT_SESSION_ID}",
		"cancel_url":  "http://localhost:8000/cart",
		"description": "tillpoint-dev trigger",
	}, &cs)
	if err != nil {
		return fmt.Errorf("creating the checkout session: %w", err)
	}
	total, ok := intValue(cs.AmountTotal)
	if !ok {
		total = o.Amount
	}
	fmt.Fprintf(stdout, "Created checkout session %s (%s, reference %s)\n  %s\n", cs.ID, formatAmount(total, cs.Currency), orDash(cs.Reference), cs.URL)

	p, err := newPayer(cs.URL)
	if err != nil {
		return err
	}
	form, err := p.page(ctx)
	if err != nil {
		return err
	}
	token := hiddenInput(form, "csrf_token")
	if token == "" {
		return fmt.Errorf("GET %s: no csrf_token in the page", cs.URL)
	}
	fields := url.Values{"csrf_token": {token}, "method": {o.Method}, "name": {testPayerName}, "email": {testPayerEmail},
		"country": {testPayerCountry}, "postal_code": {testPayerPostal}}
	if o.Method == "card" {
		fields.Set("card_number", o.Card)
		fields.Set("card_exp", testCardExp)
		fields.Set("card_cvc", testCardCVC)
		fmt.Fprintf(stdout, "Paying by card %s as %s <%s>, %s %s\n", o.Card, testPayerName, testPayerEmail, testPayerPostal, testPayerCountry)
	} else {
		fmt.Fprintf(stdout, "Paying by bank transfer as %s <%s>, %s %s\n", testPayerName, testPayerEmail, testPayerPostal, testPayerCountry)
	}
	res, err := p.post(ctx, "/pay", fields)
	if err != nil {
		return err
	}
	printResult(stdout, res)

	if res.Status == "requires_action" {
		challenge, err := p.page(ctx)
		if err != nil {
			return err
		}
		paymentID, token := hiddenInput(challenge, "payment_id"), hiddenInput(challenge, "csrf_token")
		if paymentID == "" || token == "" {
			return fmt.Errorf("GET %s: no payment_id or csrf_token in the challenge page", cs.URL)
		}
		fmt.Fprintf(stdout, "Approving the authentication step of %s\n", paymentID)
		res, err = p.post(ctx, "/challenge", url.Values{"csrf_token": {token}, "payment_id": {paymentID}, "decision": {"approve"}})
		if err != nil {
			return err
		}
		printResult(stdout, res)
	}
	switch {
	case res.Status == "error" || res.Status == "closed":
		return fmt.Errorf("payment of %s ended %s", cs.ID, res.Status)
	case res.Status == "processing" && o.Method == "bank_transfer" && !o.Unsettled:
		return settleBankTransfer(ctx, st, cs.ID, stdout)
	case res.Status == "processing":
		fmt.Fprintln(stdout, "The payment completes later: watch `tillpoint-dev listen` for its events.")
	}
	return nil
}

// settleBankTransfer does what the bank feed does when the payer's transfer
// arrives: it sends hooks a credit of the session's amount with its
// reference, signed with the dev stack's test feed secret (README, "Bank
// transfer and provider callbacks").
func settleBankTransfer(ctx context.Context, st devStack, sessionID string, stdout io.Writer) error {
	if st.BankFeedTestSecret == "" {
		return fmt.Errorf("stack.json has no bank_feed_test_secret: restart the dev stack (make run)")
	}
	var cs checkoutSession
	if err := newAPIClient(st).call(ctx, http.MethodGet, "/v1/checkout/sessions/"+url.PathEscape(sessionID), nil, &cs); err != nil {
		return fmt.Errorf("reading the checkout session: %w", err)
	}
	due, ok := intValue(cs.AmountTotal)
	if !ok {
		return fmt.Errorf("checkout session %s has no amount_total", sessionID)
	}
	body, err := json.Marshal(map[string]any{"id": "trigger-" + sessionID, "type": "funds.received",
		"reference": cs.Reference, "amount": due, "currency": cs.Currency})
	if err != nil {
		return err
	}
	target := strings.TrimRight(st.HooksURL, "/") + "/hooks/bank_transfer"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(provider.SignatureHeader, provider.Sign([]byte(st.BankFeedTestSecret), body, time.Now()))
	resp, err := devHTTPClient(apiTimeout).Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", target, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: answered %s: %s", target, resp.Status, excerptText(answer))
	}
	fmt.Fprintf(stdout, "Sent the bank feed's credit of %s with reference %s (signed with bank_feed_test_secret)\n"+
		"The payment completes in a moment: watch `tillpoint-dev listen` for its events.\n", formatAmount(due, cs.Currency), cs.Reference)
	return nil
}

// printResult shows a form answer: the status, the error and where the payer
// is sent.
func printResult(w io.Writer, res formResult) {
	fmt.Fprintf(w, "Result: %s\n", res.Status)
	if e := res.Error; e != nil {
		fmt.Fprintf(w, "  error %s: %s\n", orDash(e.Code), e.Message)
	}
	if res.RedirectURL != "" {
		fmt.Fprintf(w, "  redirect to %s\n", res.RedirectURL)
	}
}

// payer is a browser without a browser: a cookie jar (for tp_csrf) and the
// session page's URL.
type payer struct {
	pageURL *url.URL
	client  *http.Client
}

func newPayer(pageURL string) (*payer, error) {
	u, err := url.Parse(pageURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("session url %q is not an absolute URL", pageURL)
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := devHTTPClient(pageTimeout)
	c.Jar = jar
	return &payer{pageURL: u, client: c}, nil
}

// page GETs the session page (setting the tp_csrf cookie) and returns its HTML.
func (p *payer) page(ctx context.Context) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.pageURL.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept-Language", "en")
	resp, err := p.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", p.pageURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", p.pageURL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: answered %s", p.pageURL, resp.Status)
	}
	return string(b), nil
}

// post sends a form to the session page's path + suffix, asking for JSON,
// and resolves the answer's redirect_url against the page.
func (p *payer) post(ctx context.Context, suffix string, form url.Values) (formResult, error) {
	target := p.pageURL.JoinPath(suffix)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return formResult{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return formResult{}, fmt.Errorf("POST %s: %w", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPage))
	if err != nil {
		return formResult{}, fmt.Errorf("POST %s: %w", target, err)
	}
	var res formResult
	if err := json.Unmarshal(b, &res); err != nil || res.Status == "" {
		return formResult{}, fmt.Errorf("POST %s: answered %s, not the form contract's JSON: %s", target, resp.Status, excerptText(b))
	}
	if res.RedirectURL != "" {
		if u, err := p.pageURL.Parse(res.RedirectURL); err == nil {
			res.RedirectURL = u.String()
		}
	}
	return res, nil
}

var (
	inputTagRE = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRE     = regexp.MustCompile(`(?is)\b([a-z_-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

// hiddenInput returns the value of the page's <input name=name>, or "" when
// there is none. It reads the server's own template, not arbitrary HTML.
func hiddenInput(page, name string) string {
	for _, tag := range inputTagRE.FindAllString(page, -1) {
		attrs := map[string]string{}
		for _, m := range attrRE.FindAllStringSubmatch(tag, -1) {
			attrs[strings.ToLower(m[1])] = html.UnescapeString(m[2] + m[3])
		}
		if attrs["name"] == name {
			return attrs["value"]
		}
	}
	return ""
}

package e2e

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// callbackReceiver is a PayPorter merchant's callback endpoint: it records
// the checkoutId of each POST it receives.
type callbackReceiver struct {
	mu       sync.Mutex
	received []string
}

func (c *callbackReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/payment-callback" {
		if err := r.ParseForm(); err == nil {
			c.mu.Lock()
			c.received = append(c.received, r.PostForm.Get("checkoutId"))
			c.mu.Unlock()
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(`<!doctype html><title>Shop</title><link rel="icon" href="data:,"><p id="received">received</p>`))
}

func (c *callbackReceiver) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.received...)
}

// TestBrowserPayPorterReturn pays a PayPorter checkout in 6 installments in
// a real Chromium and follows the page back to the callback: the return
// form submits itself under the page's CSP and posts checkoutId.
func TestBrowserPayPorterReturn(t *testing.T) {
	keyID, secret := payporterKeys(t)
	recv := &callbackReceiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: recv}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	callback := "http://" + ln.Addr().String() + "/payment-callback"

	status, created := payporter(t, keyID, secret, "POST", "/api/checkout", `{"orderId":"ORD-browser","amount":100.50,"currency":"TRY",`+
		`"callback":"`+callback+`","maxInstallmentCount":6,"interestPaidByCustomer":true}`)
	if status != http.StatusOK {
		t.Fatalf("create: %d %v", status, created)
	}
	checkoutID := created["checkoutId"].(string)

	tab := newTab(t, newChromium(t))
	do(t, tab, "open the page", chromedp.Navigate(created["redirectUrl"].(string)), chromedp.WaitVisible(chromedp.ID("installments")))
	if label := text(t, tab, "plan-6"); !strings.Contains(label, "6 installments of") || !strings.Contains(label, "112.50") {
		t.Errorf("6 installments offered as %q", label)
	}
	fillBilling(t, tab, "TR", "34000")
	do(t, tab, "pay in 6 installments",
		chromedp.Click(chromedp.ID("installments-6")),
		chromedp.SendKeys(chromedp.ID("card_number"), "4242 4242 4242 4242"),
		chromedp.SendKeys(chromedp.ID("card_exp"), "12/34"),
		chromedp.SendKeys(chromedp.ID("card_cvc"), "123"),
		chromedp.Click(chromedp.ID("pay-button")),
		// The return page posts itself to the callback.
		chromedp.WaitVisible(chromedp.ID("received")),
	)
	if got := recv.ids(); len(got) != 1 || got[0] != checkoutID {
		t.Fatalf("the callback received %v, want one POST of checkoutId %s", got, checkoutID)
	}
	_, paid := payporter(t, keyID, secret, "GET", "/api/checkout/"+checkoutID, "")
	if paid["status"] != "SUCCESS" || paid["installmentCount"] != 6.0 || paid["paidAmount"] != 112.5 {
		t.Errorf("status after the browser paid: %v", paid)
	}
}

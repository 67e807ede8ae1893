package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/payment"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/internal/store"
	"github.com/tillpoint/tillpoint/services/checkout-runtime/migrations"
	"github.com/tillpoint/tillpoint/services/platform/ids"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack/paystacktest"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// completions is admin-api's CompleteSession for the payment service:
// it completes every session once, paid, and counts the calls.
type completions struct {
	internalapiv1.SessionServiceClient
	mu   sync.Mutex
	paid []string
}

func (c *completions) CompleteSession(_ context.Context, req *internalapiv1.CompleteSessionRequest, _ ...grpc.CallOption) (*internalapiv1.CompleteSessionResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !req.GetPaid() {
		return nil, status.Error(codes.InvalidArgument, "mobile money completes sessions paid")
	}
	c.paid = append(c.paid, req.GetPaymentId())
	return &internalapiv1.CompleteSessionResponse{CheckoutSession: &adminv1.CheckoutSession{Id: req.GetSessionId(), Status: "complete",
		PaymentStatus: "paid", SuccessUrl: "https://shop.example/thanks"}}, nil
}

// ghsCheckout is a test-mode GHS session whose site has a Paystack account
// for mobile money.
func ghsCheckout(id string) *internalapiv1.GetCheckoutResponse {
	co := liveCheckout(id, "card", "mobile_money")
	co.CheckoutSession.Livemode, co.Site.Livemode, co.CheckoutSession.Currency = false, false, "GHS"
	co.Site.ProviderAccounts = map[string]string{"mobile_money": "pa_paystack"}
	return co
}

// TestMobileMoneyPageFlow runs the page's handlers on a real database,
// with the payment service's Paystack account at Prism in front of a
// scripted Paystack: the form and its errors, send_otp → the code form →
// success, pay_offline → the self-refreshing wait → success.
func TestMobileMoneyPageFlow(t *testing.T) {
	otpID, waitID := ids.New("cs"), ids.New("cs")
	h, routes := newTestHandler(t, adminClient(t, &adminServer{sessions: map[string]*internalapiv1.GetCheckoutResponse{
		otpID: ghsCheckout(otpID), waitID: ghsCheckout(waitID)}}))
	base, fake := paystacktest.Start(t, paystack.StatusSendOTP, 1000)
	h.Store = store.New(testkit.NewDatabase(t, migrations.Set))
	admin := &completions{}
	h.Pay = &payment.Service{Store: h.Store, Admin: admin, Limits: payment.DefaultLimits, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Providers: provider.NewDefaultRegistry().WithAccounts(func(_ context.Context, id string) (provider.Credentials, error) {
			return provider.Credentials{AccountID: id, Provider: provider.NamePaystack, SecretKey: paystacktest.Key}, nil
		}, map[string]provider.Factory{provider.NamePaystack: paystack.Factory(base, nil)})}

	// The form offers the networks of Ghana.
	if w := do(routes, "GET", "/checkout/"+otpID, nil, nil); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<option value="atl">AirtelTigo</option>`) {
		t.Fatalf("page: %d", w.Code)
	}
	// A bad number: 400 naming the field, nothing sent to Paystack.
	form, hdr := signedForm(h, otpID, url.Values{"method": {"mobile_money"}, "network": {"mtn"}, "phone": {"0301234567"}, "country": {"GH"}, "postal_code": {"GA-123"}})
	hdr["Accept-Language"] = "fr"
	w := do(routes, "POST", "/checkout/"+otpID+"/pay", form, hdr)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "0 suivi de 9 chiffres") || len(fake.Calls()) != 0 {
		t.Fatalf("bad phone: %d %v", w.Code, fake.Calls())
	}
	// A good one: send_otp, the page asks for the code.
	form.Set("phone", "055 123 4987")
	delete(hdr, "Accept-Language")
	if w = do(routes, "POST", "/checkout/"+otpID+"/pay", form, hdr); w.Code != http.StatusSeeOther {
		t.Fatalf("pay: %d %.300s", w.Code, w.Body.String())
	}
	page := do(routes, "GET", "/checkout/"+otpID, nil, nil).Body.String()
	pay, _ := h.Store.LatestPayment(context.Background(), otpID)
	if !strings.Contains(page, `id="otp-form"`) || pay.Status != payment.StatusRequiresAction || pay.ID == "" {
		t.Fatalf("after send_otp: %s %.400s", pay.Status, page)
	}
	// Letters are not a code: the form again, 400.
	otpForm, otpHdr := signedForm(h, otpID, url.Values{"payment_id": {pay.ID}, "otp": {"12ab"}})
	if w = do(routes, "POST", "/checkout/"+otpID+"/otp", otpForm, otpHdr); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "Enter the code you received") {
		t.Fatalf("bad code: %d", w.Code)
	}
	fake.Set(paystack.StatusSuccess, 1000)
	otpForm.Set("otp", "123456")
	if w = do(routes, "POST", "/checkout/"+otpID+"/otp", otpForm, otpHdr); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "https://shop.example/thanks" {
		t.Fatalf("code: %d %q", w.Code, w.Header().Get("Location"))
	}

	// pay_offline: the wait page reloads the return URL, which verifies.
	fake.Set(paystack.StatusPayOffline, 1000)
	form, hdr = signedForm(h, waitID, url.Values{"method": {"mobile_money"}, "network": {"vod"}, "phone": {"+233 20 123 4567"}, "country": {"GH"}, "postal_code": {"GA-123"}})
	if w = do(routes, "POST", "/checkout/"+waitID+"/pay", form, hdr); w.Code != http.StatusSeeOther {
		t.Fatalf("pay offline: %d", w.Code)
	}
	pay, _ = h.Store.LatestPayment(context.Background(), waitID)
	page = do(routes, "GET", "/checkout/"+waitID, nil, nil).Body.String()
	refresh := `<meta http-equiv="refresh" content="5;url=/checkout/` + waitID + `/return?payment_id=` + pay.ID + `">`
	if !strings.Contains(page, refresh) || !strings.Contains(page, "Approve the payment on your phone") {
		t.Fatalf("wait page: %.600s", page)
	}
	if w = do(routes, "GET", "/checkout/"+waitID+"/return?payment_id="+pay.ID, nil, nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/checkout/"+waitID {
		t.Fatalf("refresh while pending: %d %q", w.Code, w.Header().Get("Location"))
	}
	fake.Set(paystack.StatusSuccess, 1000)
	if w = do(routes, "GET", "/checkout/"+waitID+"/return?payment_id="+pay.ID, nil, nil); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "https://shop.example/thanks" {
		t.Fatalf("refresh after approval: %d %q", w.Code, w.Header().Get("Location"))
	}
	if len(admin.paid) != 2 {
		t.Errorf("sessions completed %d times", len(admin.paid))
	}
}

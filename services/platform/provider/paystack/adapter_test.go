package paystack

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

func adapterFor(c *Client) *Adapter { return &Adapter{c: c} }

func ghsRequest(id string) provider.AuthorizeRequest {
	return provider.AuthorizeRequest{PaymentID: id, Amount: 2500, Currency: "GHS", Email: "ama@example.com",
		MobileMoney: &provider.MobileMoney{Phone: "055 123 4987", Network: "mtn"}}
}

// TestOTPFlow: send_otp → the code → success, captured at once.
func TestOTPFlow(t *testing.T) {
	c, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/charge":
			answer(w, 200, true, "Charge attempted", tx(StatusSendOTP, "pay_otp1", 2500, map[string]any{"display_text": "Please enter the OTP sent to your phone"}))
		case "/charge/submit_otp":
			answer(w, 200, true, "Charge attempted", otpAnswer(StatusSuccess, "pay_otp1", 2500))
		}
	})
	a := adapterFor(c)
	res, err := a.Authorize(context.Background(), ghsRequest("pay_otp1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != provider.ChallengeRequired || res.NextAction != provider.NextActionOTP || res.Reference != "pay_otp1" ||
		res.DisplayText != "Please enter the OTP sent to your phone" {
		t.Fatalf("authorize = %+v, want an OTP challenge", res)
	}
	res, err = a.SubmitOTP(context.Background(), "pay_otp1", "123456")
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != provider.Authorized || !res.Captured || res.Amount != 2500 || res.Currency != "GHS" {
		t.Fatalf("submit otp = %+v, want authorized and captured for 2500 GHS", res)
	}
	got := requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	charge := got[0]
	mm, _ := charge.Body["mobile_money"].(map[string]any)
	if charge.Method != "POST" || charge.Auth != "Bearer "+testKey || charge.Body["email"] != "ama@example.com" ||
		charge.Body["amount"] != float64(2500) || charge.Body["currency"] != "GHS" || charge.Body["reference"] != "pay_otp1" ||
		mm["phone"] != "0551234987" || mm["provider"] != "mtn" {
		t.Errorf("charge request = %+v", charge)
	}
	if otp := got[1]; otp.Path != "/charge/submit_otp" || otp.Body["otp"] != "123456" || otp.Body["reference"] != "pay_otp1" {
		t.Errorf("otp request = %+v", otp)
	}
}

// TestPayOfflineThenVerify: pay_offline is a wait on the payer's phone;
// verification afterwards reads the result.
func TestPayOfflineThenVerify(t *testing.T) {
	verified := StatusPending
	c, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/charge":
			answer(w, 200, true, "Charge attempted", tx(StatusPayOffline, "pay_off1", 2500, map[string]any{"display_text": "Please complete authorization process on your mobile phone"}))
		case "/transaction/verify/pay_off1":
			answer(w, 200, true, "Verification successful", tx(verified, "pay_off1", 2500, nil))
		}
	})
	a := adapterFor(c)
	res, err := a.Authorize(context.Background(), ghsRequest("pay_off1"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != provider.ChallengeRequired || res.NextAction != provider.NextActionApproveOnPhone {
		t.Fatalf("authorize = %+v, want pending on the phone", res)
	}
	if res, err = a.Resume(context.Background(), "pay_off1"); err != nil || res.Outcome != provider.ChallengeRequired || res.NextAction != provider.NextActionApproveOnPhone {
		t.Fatalf("resume while pending = %+v, %v", res, err)
	}
	verified = StatusSuccess
	if res, err = a.Resume(context.Background(), "pay_off1"); err != nil || res.Outcome != provider.Authorized || !res.Captured || res.Amount != 2500 {
		t.Fatalf("resume after approval = %+v, %v", res, err)
	}
	if err := a.Capture(context.Background(), "pay_off1", 2500); err != nil {
		t.Errorf("capture of a taken payment: %v", err)
	}
	if err := a.Capture(context.Background(), "pay_off1", 2600); !errors.Is(err, provider.ErrCaptureAmount) {
		t.Errorf("capture of another amount: %v, want ErrCaptureAmount", err)
	}
	if got := requests(); len(got) != 5 || got[1].Method != "GET" || got[1].Path != "/transaction/verify/pay_off1" {
		t.Errorf("requests = %+v", got)
	}
}

// TestDeclines: Paystack's reasons map onto our stable codes, whether the
// failed charge comes with 200 or 400.
func TestDeclines(t *testing.T) {
	for _, tc := range []struct {
		code    int
		reason  string
		want    string
		message string
	}{
		{200, "Insufficient Funds", provider.DeclineInsufficientFunds, "Charge attempted"},
		{400, "Transaction timed out", provider.DeclinePaymentTimeout, "Charge attempted"},
		{200, "Declined", provider.DeclineMobileMoneyDeclined, "Charge attempted"},
		{400, "", provider.DeclineAuthenticationFailed, "Invalid OTP"},
	} {
		t.Run(tc.reason+tc.message, func(t *testing.T) {
			c, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
				answer(w, tc.code, tc.code == 200, tc.message, tx(StatusFailed, "pay_dec1", 2500, map[string]any{"gateway_response": tc.reason}))
			})
			res, err := adapterFor(c).Authorize(context.Background(), ghsRequest("pay_dec1"))
			if err != nil {
				t.Fatal(err)
			}
			if res.Outcome != provider.Declined || res.DeclineCode != tc.want || res.DeclineMessage == "" || res.Captured {
				t.Errorf("= %+v, want declined %s", res, tc.want)
			}
		})
	}
}

// TestSuccessForAnotherAmount is never an authorisation.
func TestSuccessForAnotherAmount(t *testing.T) {
	c, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, true, "Charge attempted", tx(StatusSuccess, "pay_amt1", 250, nil))
	})
	if res, err := adapterFor(c).Authorize(context.Background(), ghsRequest("pay_amt1")); err == nil {
		t.Fatalf("authorize = %+v, want an error", res)
	}
}

// TestErrorsAreClassified: 5xx and 429 retryable, 401 the key, 404 the
// reference, other 4xx the request.
func TestErrorsAreClassified(t *testing.T) {
	for _, tc := range []struct {
		code int
		want error
	}{
		{500, ErrUnavailable}, {503, ErrUnavailable}, {429, ErrUnavailable},
		{401, ErrAuthentication}, {404, provider.ErrUnknownReference}, {400, provider.ErrInvalidRequest},
	} {
		c, _ := scripted(t, func(w http.ResponseWriter, r *http.Request) {
			answer(w, tc.code, false, "Something", nil)
		})
		_, err := c.Verify(context.Background(), "pay_err1")
		if !errors.Is(err, tc.want) {
			t.Errorf("%d: %v, want %v", tc.code, err, tc.want)
		}
		if tc.want == ErrUnavailable && !Retryable(err) {
			t.Errorf("%d is not retryable", tc.code)
		}
	}
}

// TestRefund sends POST /refund {transaction, amount} and maps its status.
func TestRefund(t *testing.T) {
	status := "pending"
	c, requests := scripted(t, func(w http.ResponseWriter, r *http.Request) {
		answer(w, 200, true, "Refund has been queued for processing", map[string]any{
			"transaction": map[string]any{"id": 4099260516, "reference": "pay_ref1", "amount": 2500, "currency": "GHS"},
			"integration": 463433, "deducted_amount": 0, "channel": nil, "merchant_note": "refund re_1", "customer_note": "Refund",
			"status": status, "refunded_by": "ops@example.com", "expected_at": "2026-12-07T10:00:00.000Z", "currency": "GHS",
			"domain": "test", "amount": 1000, "fully_deducted": false, "id": 3018284, "createdAt": "2026-11-30T10:00:00.000Z",
			"updatedAt": "2026-11-30T10:00:00.000Z",
		})
	})
	a := adapterFor(c)
	res, err := a.Refund(context.Background(), provider.RefundRequest{Reference: "pay_ref1", RefundID: "re_1", Amount: 1000, Currency: "ghs"})
	if err != nil || res.Status != provider.RefundPending || res.Reference != "3018284" {
		t.Fatalf("refund = %+v, %v", res, err)
	}
	status = "processed"
	if res, err = a.Refund(context.Background(), provider.RefundRequest{Reference: "pay_ref1", RefundID: "re_2", Amount: 500, Currency: "GHS"}); err != nil || res.Status != provider.RefundSucceeded {
		t.Fatalf("refund = %+v, %v", res, err)
	}
	got := requests()[0]
	if got.Path != "/refund" || got.Body["transaction"] != "pay_ref1" || got.Body["amount"] != float64(1000) || got.Body["currency"] != "GHS" {
		t.Errorf("refund request = %+v", got)
	}
	if err := a.Void(context.Background(), "pay_ref1"); !errors.Is(err, provider.ErrAlreadyCaptured) {
		t.Errorf("void = %v, want ErrAlreadyCaptured", err)
	}
}

// TestAuthorizeRefusesBadRequests before any call.
func TestAuthorizeRefusesBadRequests(t *testing.T) {
	c, requests := scripted(t, nil)
	a := adapterFor(c)
	bad := []provider.AuthorizeRequest{
		{PaymentID: "pay_b1", Amount: 2500, Currency: "GHS", Email: "a@b.co"}, // no wallet
		func() provider.AuthorizeRequest { r := ghsRequest("pay_b2"); r.MobileMoney.Phone = "0201"; return r }(),
		func() provider.AuthorizeRequest { r := ghsRequest("pay_b3"); r.MobileMoney.Network = "mpesa"; return r }(),
		func() provider.AuthorizeRequest { r := ghsRequest("pay_b4"); r.Currency = "NGN"; return r }(),
		func() provider.AuthorizeRequest { r := ghsRequest("pay_b5"); r.Livemode = true; return r }(),
		func() provider.AuthorizeRequest { r := ghsRequest("pay_b6"); r.Token = "ctoken_1"; return r }(),
	}
	for i, req := range bad {
		if _, err := a.Authorize(context.Background(), req); !errors.Is(err, provider.ErrInvalidRequest) {
			t.Errorf("%d: %v, want ErrInvalidRequest", i, err)
		}
	}
	if n := len(requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestFactoryChecksMode: a test key on a live account is refused.
func TestFactoryChecksMode(t *testing.T) {
	f := Factory("http://127.0.0.1:1", nil)
	if _, err := f(provider.Credentials{SecretKey: testKey, Livemode: true}); err == nil {
		t.Error("a test key on a live account was accepted")
	}
	p, err := f(provider.Credentials{SecretKey: testKey})
	if err != nil || p.Name() != provider.NamePaystack {
		t.Errorf("factory = %v, %v", p, err)
	}
	if _, err := f(provider.Credentials{SecretKey: "pk_test_x"}); err == nil {
		t.Error("a public key was accepted as a secret key")
	}
}

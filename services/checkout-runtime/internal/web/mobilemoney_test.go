package web

import (
	"net/url"
	"reflect"
	"strings"
	"testing"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	internalapiv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/internalapi/v1"
	"github.com/tillpoint/tillpoint/services/platform/provider"
	"github.com/tillpoint/tillpoint/services/platform/provider/paystack"
)

// TestMobileMoneyWaitView: "approve on your phone" reloads the return URL
// without JavaScript, and offers a link to check now.
func TestMobileMoneyWaitView(t *testing.T) {
	for lang, heading := range map[string]string{"en": "Approve the payment on your phone", "fr": "Approuvez le paiement sur votre téléphone"} {
		p := samplePage(StateMobileMoney, lang, true)
		page := renderHTML(t, p)
		want := `<meta http-equiv="refresh" content="5;url=/checkout/` + testSessionID + `/return?payment_id=pay_test_9f8e7d6c5b4a3">`
		if !strings.Contains(page, want) {
			t.Errorf("%s: missing %s", lang, want)
		}
		if got := textOf(t, page, "mm-h"); got != heading {
			t.Errorf("%s: heading %q", lang, got)
		}
		if byID(t, page, "check").attrs["href"] != p.MobileMoney.WaitURL || strings.Contains(page, `id="otp-form"`) {
			t.Errorf("%s: check link or a code form", lang)
		}
	}
}

// TestMobileMoneyOTPView: the code form posts the payment's code, with the
// CSRF token; a field error is shown on the field, in the page's language.
func TestMobileMoneyOTPView(t *testing.T) {
	p := samplePage(StateMobileMoney, "fr", true)
	p.RefreshSeconds = 0
	p.MobileMoney.NextAction = provider.NextActionOTP
	p.FieldErrors = map[string]string{"otp": newTranslator("fr").T("err.otp")}
	page := renderHTML(t, p)
	if form := byID(t, page, "otp-form"); form.attrs["action"] != p.MobileMoney.OTPURL || form.attrs["method"] != "post" {
		t.Errorf("otp form: %s", form.raw)
	}
	otp := byID(t, page, "otp")
	if otp.attrs["name"] != "otp" || otp.attrs["autocomplete"] != "one-time-code" || otp.attrs["aria-invalid"] != "true" {
		t.Errorf("otp input: %s", otp.raw)
	}
	if got := textOf(t, page, "otp-error"); got != "Saisissez le code reçu, en chiffres uniquement." {
		t.Errorf("otp error %q", got)
	}
	for name, value := range map[string]string{"csrf_token": p.CSRFToken, "payment_id": p.Payment.ID} {
		if want := `<input type="hidden" name="` + name + `" value="` + value + `">`; !strings.Contains(page, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(page, "http-equiv") {
		t.Error("the code form refreshes itself")
	}
}

// TestOpenFormMobileMoney: the network list of the currency and the phone,
// with the payer's values kept and the errors on their fields.
func TestOpenFormMobileMoney(t *testing.T) {
	p := samplePage(StateOpen, "en", true)
	p.Methods, p.Method = []string{"card", "mobile_money"}, "mobile_money"
	p.MobileMoney = &MobileMoneyView{Networks: paystack.Networks("GHS"), Network: "vod", Phone: "055 123"}
	p.FieldErrors = map[string]string{"phone": newTranslator("en").T("err.mm_phone_invalid")}
	page := renderHTML(t, p)
	if !byID(t, page, "method-mobile_money").has("checked") || !strings.Contains(page, `<label for="method-mobile_money">`) || !strings.Contains(page, `<span>Mobile money</span></label>`) {
		t.Errorf("method radio")
	}
	for _, code := range []string{"mtn", "vod", "atl"} {
		if !strings.Contains(page, `<option value="`+code+`"`) {
			t.Errorf("network %s not offered", code)
		}
	}
	if !strings.Contains(page, `<option value="vod" selected>Telecel (Vodafone)</option>`) {
		t.Error("chosen network not selected")
	}
	phone := byID(t, page, "phone")
	if phone.attrs["value"] != "055 123" || phone.attrs["type"] != "tel" || phone.attrs["aria-invalid"] != "true" {
		t.Errorf("phone: %s", phone.raw)
	}
	if !strings.Contains(textOf(t, page, "phone-error"), "0 and 9 digits") {
		t.Errorf("phone error: %q", textOf(t, page, "phone-error"))
	}
}

func TestReadMobileMoney(t *testing.T) {
	for _, tc := range []struct {
		form     url.Values
		currency string
		want     *provider.MobileMoney
		errs     map[string]string
	}{
		{url.Values{"network": {"mtn"}, "phone": {" 055 123 4987 "}}, "GHS", &provider.MobileMoney{Phone: "+233551234987", Network: "mtn"}, nil},
		{url.Values{"network": {"mpesa"}, "phone": {"+254 710 000000"}}, "KES", &provider.MobileMoney{Phone: "+254710000000", Network: "mpesa"}, nil},
		{url.Values{"network": {"mtn"}, "phone": {"12"}}, "GHS", nil, map[string]string{"phone": "err.mm_phone_invalid"}},
		{url.Values{"network": {"mtn"}}, "GHS", nil, map[string]string{"phone": "err.mm_phone_required"}},
		{url.Values{"phone": {"0551234987"}}, "GHS", nil, map[string]string{"network": "err.mm_network_required"}},
		{url.Values{"network": {"mpesa"}, "phone": {"0551234987"}}, "GHS", nil, map[string]string{"network": "err.mm_network_invalid"}},
		{url.Values{"network": {"mtn"}, "phone": {strings.Repeat("5", 40)}}, "GHS", nil, map[string]string{"phone": "err.mm_phone_invalid"}},
	} {
		got, errs := readMobileMoney(tc.form, tc.currency)
		if !reflect.DeepEqual(got, tc.want) || !reflect.DeepEqual(errs, tc.errs) {
			t.Errorf("%v: %+v %v, want %+v %v", tc.form, got, errs, tc.want, tc.errs)
		}
		for _, k := range errs {
			for lang, msgs := range catalogs {
				if msgs[k] == "" {
					t.Errorf("%s has no %s", lang, k)
				}
			}
		}
	}
}

// TestPageMethodsMobileMoney: offered only with the site's account and in
// a currency Paystack serves by mobile money, in either mode.
func TestPageMethodsMobileMoney(t *testing.T) {
	co := func(currency string, live bool, accounts map[string]string) *internalapiv1.GetCheckoutResponse {
		return &internalapiv1.GetCheckoutResponse{Site: &adminv1.Site{ProviderAccounts: accounts},
			CheckoutSession: &adminv1.CheckoutSession{Currency: currency, Livemode: live, PaymentMethodTypes: []string{"bank_transfer", "mobile_money"}}}
	}
	acct := map[string]string{"mobile_money": "pa_1"}
	for _, tc := range []struct {
		co   *internalapiv1.GetCheckoutResponse
		want []string
	}{
		{co("GHS", false, acct), []string{"bank_transfer", "mobile_money"}},
		{co("GHS", true, acct), []string{"bank_transfer", "mobile_money"}},
		{co("KES", false, acct), []string{"bank_transfer", "mobile_money"}},
		{co("EUR", false, acct), []string{"bank_transfer"}},
		{co("GHS", false, nil), []string{"bank_transfer"}},
	} {
		if got := pageMethods(tc.co); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s live=%v %v: %v", tc.co.GetCheckoutSession().GetCurrency(), tc.co.GetCheckoutSession().GetLivemode(), tc.co.GetSite().GetProviderAccounts(), got)
		}
	}
}

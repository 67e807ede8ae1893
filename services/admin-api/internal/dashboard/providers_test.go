package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// Paystack keys are checked by their shape alone (no call to Paystack), so
// the forms connect them without a provider.
const (
	paystackKey     = "sk_test_DashboardPaystackKey0001"
	paystackRotated = "sk_test_DashboardPaystackKey0002"
)

func (e *env) getAccount(id string) *adminv1.ProviderAccount {
	e.t.Helper()
	resp, err := adminv1.NewProviderAccountServiceClient(e.conn.Inline).GetProviderAccount(e.as(e.orgA, false), &adminv1.GetProviderAccountRequest{Id: id})
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.GetProviderAccount()
}

// connectForm is the connect form of a Paystack account with secret.
func connectForm(csrf, secret string) url.Values {
	return url.Values{"csrf_token": {csrf}, "provider": {"paystack"}, "name": {"Accra shop"}, "secret_key": {secret},
		"publishable_key": {""}, "webhook_secret": {""}}
}

// TestProviderAccountForms: an owner connects a Paystack account (a bad key
// is refused next to its field, never shown back), sees its webhook URL and
// its key's hint only, rotates the key, and disconnects it once no site uses
// it.
func TestProviderAccountForms(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["owner"])
	status, _, page := b.get("/dashboard/providers")
	if status != http.StatusOK {
		t.Fatalf("providers page: %d", status)
	}
	contains(t, "the providers page", page, `id="connect-form"`, `id="no-accounts"`, `<option value="gocardless"`, `id="connect-mode"`, "test mode")

	// A live key in test mode: refused, the error next to the key's field,
	// the typed key nowhere on the page.
	badKey := "sk_live_DashboardPaystackWrongMode9"
	status, _, page = b.post("/dashboard/providers", connectForm(csrf, badKey))
	if status != http.StatusBadRequest {
		t.Fatalf("bad key: %d", status)
	}
	contains(t, "the refused form", page, `id="secret_key-error"`, `aria-describedby="secret_key-error"`, `value="Accra shop"`)
	if strings.Contains(page, badKey) || strings.Contains(page, "DashboardPaystack") {
		t.Errorf("the refused form shows the typed key back")
	}

	status, loc, _ := b.post("/dashboard/providers", connectForm(csrf, paystackKey))
	if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/dashboard/providers/pa_") {
		t.Fatalf("connect: %d %q", status, loc)
	}
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/dashboard/providers/"), "?notice=connected")
	if a := e.getAccount(id); a.GetProvider() != "paystack" || a.GetName() != "Accra shop" || a.GetCredentials().GetSecretKeyLast4() != "0001" {
		t.Fatalf("connected account: %v", a)
	}
	_, _, page = b.get(loc)
	contains(t, "the account's page", page, `id="notice"`, `value="https://webhook.test/hooks/paystack/`+id+`"`, "••••0001",
		`id="webhook-help"`, `id="rotate-form"`, `id="delete-form"`)
	_, _, list := b.get("/dashboard/providers")
	contains(t, "the list", list, `id="account-`+id+`"`, "••••0001", "Paystack")
	for what, p := range map[string]string{"account page": page, "list": list} {
		if strings.Contains(p, paystackKey) || strings.Contains(p, "DashboardPaystack") {
			t.Errorf("the %s shows the secret key", what)
		}
	}

	// Rotation: a bad key is refused next to the field; a good one replaces
	// the stored key; a blank one keeps it.
	status, _, page = b.post("/dashboard/providers/"+id, url.Values{"csrf_token": {csrf}, "name": {"Accra shop"}, "secret_key": {"pk_test_notasecret"}})
	if status != http.StatusBadRequest || strings.Contains(page, "notasecret") {
		t.Fatalf("bad rotation: %d", status)
	}
	contains(t, "the refused rotation", page, `id="secret_key-error"`)
	if status, loc, _ = b.post("/dashboard/providers/"+id, url.Values{"csrf_token": {csrf}, "name": {"Accra"}, "secret_key": {paystackRotated}}); status != http.StatusSeeOther {
		t.Fatalf("rotate: %d %q", status, loc)
	}
	if a := e.getAccount(id); a.GetName() != "Accra" || a.GetCredentials().GetSecretKeyLast4() != "0002" {
		t.Fatalf("rotated account: %v", a)
	}
	if status, _, _ = b.post("/dashboard/providers/"+id, url.Values{"csrf_token": {csrf}, "name": {"Accra 2"}}); status != http.StatusSeeOther {
		t.Fatalf("rename: %d", status)
	}
	if a := e.getAccount(id); a.GetName() != "Accra 2" || a.GetCredentials().GetSecretKeyLast4() != "0002" {
		t.Fatalf("renamed account: %v", a)
	}

	// In use by a site: the refusal is shown on the page; once the site
	// lets it go, it is disconnected.
	sites := adminv1.NewSiteServiceClient(e.conn.Inline)
	if _, err := sites.UpdateSite(e.as(e.orgA, false), &adminv1.UpdateSiteRequest{Id: e.siteA, ProviderAccounts: map[string]string{"mobile_money": id},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"provider_accounts"}}}); err != nil {
		t.Fatal(err)
	}
	status, _, page = b.post("/dashboard/providers/"+id+"/delete", url.Values{"csrf_token": {csrf}})
	if status != http.StatusConflict {
		t.Fatalf("delete while in use: %d", status)
	}
	contains(t, "the refused delete", page, `id="delete-error"`, e.siteA)
	if _, err := sites.UpdateSite(e.as(e.orgA, false), &adminv1.UpdateSiteRequest{Id: e.siteA, ProviderAccounts: map[string]string{},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"provider_accounts"}}}); err != nil {
		t.Fatal(err)
	}
	if status, loc, _ = b.post("/dashboard/providers/"+id+"/delete", url.Values{"csrf_token": {csrf}}); status != http.StatusSeeOther || loc != "/dashboard/providers?notice=deleted" {
		t.Fatalf("delete: %d %q", status, loc)
	}
	if status, _, _ = b.get("/dashboard/providers/" + id); status != http.StatusNotFound {
		t.Errorf("a disconnected account's page: %d", status)
	}
	// A test-provider account takes no secret.
	if status, loc, _ = b.post("/dashboard/providers", url.Values{"csrf_token": {csrf}, "provider": {"test"}, "name": {"Cascade A"}}); status != http.StatusSeeOther {
		t.Fatalf("connect a test-provider account: %d %q", status, loc)
	}
}

// TestProviderAccountAccess: every role sees the accounts; only owners
// connect, rotate and disconnect; a forged CSRF token changes nothing;
// another organization's account is not found.
func TestProviderAccountAccess(t *testing.T) {
	e := newEnv(t)
	owner := e.browser()
	csrf := owner.login(e.users["owner"])
	_, loc, _ := owner.post("/dashboard/providers", connectForm(csrf, paystackKey))
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/dashboard/providers/"), "?notice=connected")
	for _, role := range []string{"developer", "support", "viewer"} {
		b := e.browser()
		csrf := b.login(e.users[role])
		status, _, page := b.get("/dashboard/providers/" + id)
		if status != http.StatusOK || strings.Contains(page, `id="rotate-form"`) || strings.Contains(page, `id="delete-form"`) {
			t.Errorf("%s: the account page %d, with the owner's forms", role, status)
		}
		for path, form := range map[string]url.Values{
			"/dashboard/providers":                   connectForm(csrf, paystackRotated),
			"/dashboard/providers/" + id:             {"csrf_token": {csrf}, "name": {"x"}, "secret_key": {paystackRotated}},
			"/dashboard/providers/" + id + "/delete": {"csrf_token": {csrf}},
			"/dashboard/providers/" + id + "/status": {"csrf_token": {csrf}, "disabled": {"true"}},
		} {
			if status, _, _ := b.post(path, form); status != http.StatusForbidden {
				t.Errorf("%s POST %s: %d, want 403", role, path, status)
			}
		}
	}
	if status, _, _ := owner.post("/dashboard/providers/"+id, url.Values{"csrf_token": {forged(csrf)}, "name": {"x"}, "secret_key": {paystackRotated}}); status != http.StatusForbidden {
		t.Errorf("forged CSRF: %d", status)
	}
	if a := e.getAccount(id); a.GetName() != "Accra shop" || a.GetCredentials().GetSecretKeyLast4() != "0001" || a.GetDisabled() {
		t.Errorf("refused posts changed the account: %v", a)
	}
	b := e.browser()
	b.login(e.users["ownerB"])
	if status, _, _ := b.get("/dashboard/providers/" + id); status != http.StatusNotFound {
		t.Errorf("another organization's account: %d", status)
	}
}

// TestProviderAccountDisableForm: an owner disables an account from its
// page (the page and the list say so) and enables it again.
func TestProviderAccountDisableForm(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	csrf := b.login(e.users["owner"])
	_, loc, _ := b.post("/dashboard/providers", url.Values{"csrf_token": {csrf}, "provider": {"test"}, "name": {"Cascade A"}})
	id := strings.TrimSuffix(strings.TrimPrefix(loc, "/dashboard/providers/"), "?notice=connected")
	_, _, page := b.get("/dashboard/providers/" + id)
	contains(t, "an enabled account's page", page, `id="status-form"`, `id="disable"`, `name="disabled" value="true"`, "Enabled")

	status, loc, _ := b.post("/dashboard/providers/"+id+"/status", url.Values{"csrf_token": {csrf}, "disabled": {"true"}})
	if status != http.StatusSeeOther || loc != "/dashboard/providers/"+id+"?notice=disabled" {
		t.Fatalf("disable: %d %q", status, loc)
	}
	if a := e.getAccount(id); !a.GetDisabled() || a.GetName() != "Cascade A" {
		t.Fatalf("disabled account: %v", a)
	}
	_, _, page = b.get(loc)
	contains(t, "a disabled account's page", page, `id="notice"`, "Account disabled", `id="enable"`, `name="disabled" value="false"`,
		"Disabled: no new payment goes to it")
	_, _, list := b.get("/dashboard/providers")
	contains(t, "the list", list, `id="account-`+id+`"`, `<span class="badge s-expired">disabled</span>`)

	if status, loc, _ = b.post("/dashboard/providers/"+id+"/status", url.Values{"csrf_token": {csrf}, "disabled": {"false"}}); status != http.StatusSeeOther || !strings.HasSuffix(loc, "?notice=enabled") {
		t.Fatalf("enable: %d %q", status, loc)
	}
	if a := e.getAccount(id); a.GetDisabled() {
		t.Fatalf("enabled account: %v", a)
	}
}

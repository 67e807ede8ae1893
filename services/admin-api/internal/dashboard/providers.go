package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
)

// The provider-account and route pages (issue 16) keep to their own files:
// their views and messages are added to the shared lists here.
func init() {
	views = append(views, "providers", "provider", "route")
	for lang, msgs := range routingMessages {
		for k, m := range msgs {
			catalogs[lang][k] = m
		}
	}
}

// routingPages adds the provider-account and route pages to m. Everyone who
// sees sites sees accounts (never their secrets) and routes; owners change
// them (ActionManageProviders).
func (h *Handler) routingPages(m *http.ServeMux) {
	m.Handle("GET "+Prefix+"/providers", h.signedIn(ActionViewSites, h.listProviderAccounts))
	m.Handle("POST "+Prefix+"/providers", h.signedIn(ActionManageProviders, h.connectProviderAccount))
	m.Handle("GET "+Prefix+"/providers/{id}", h.signedIn(ActionViewSites, h.showProviderAccount))
	m.Handle("POST "+Prefix+"/providers/{id}", h.signedIn(ActionManageProviders, h.updateProviderAccount))
	m.Handle("POST "+Prefix+"/providers/{id}/status", h.signedIn(ActionManageProviders, h.setProviderAccountDisabled))
	m.Handle("POST "+Prefix+"/providers/{id}/delete", h.signedIn(ActionManageProviders, h.deleteProviderAccount))
	m.Handle("GET "+Prefix+"/sites/{id}/routes/new", h.signedIn(ActionManageProviders, h.newRoute))
	m.Handle("POST "+Prefix+"/sites/{id}/routes", h.signedIn(ActionManageProviders, h.createRoute))
	m.Handle("GET "+Prefix+"/routes/{id}", h.signedIn(ActionViewSites, h.editRoute))
	m.Handle("POST "+Prefix+"/routes/{id}", h.signedIn(ActionManageProviders, h.updateRoute))
	m.Handle("POST "+Prefix+"/routes/{id}/delete", h.signedIn(ActionManageProviders, h.deleteRoute))
}

// connectableProviders are the providers the connect form offers, in order.
var connectableProviders = []string{"stripe", "gocardless", "paystack", "test"}

// accountForm is a provider account's form as typed. The secrets are read
// from the post and sent to the API, never kept here: a form shown again
// after an error has them empty, and a stored account shows their hints.
type accountForm struct {
	Provider, Name  string
	ReusableMandate bool
	Errors          []formError
	Field           map[string]string
}

func (af *accountForm) fail(id, msg string) {
	if _, dup := af.Field[id]; dup {
		return
	}
	af.Field[id] = msg
	af.Errors = append(af.Errors, formError{ID: id, Message: msg})
}

// providersView is the Provider accounts page: the list and the connect form.
type providersView struct {
	Accounts  []*adminv1.ProviderAccount
	Providers []string
	Form      *accountForm
	CanManage bool
	Notice    string
}

// providerView is one account's page: its hints and webhook URL, the form
// to rename it or replace its secrets, and the button to disconnect it.
type providerView struct {
	Account   *adminv1.ProviderAccount
	Form      *accountForm
	CanManage bool
	Notice    string
}

// accountsClient is the Provider account service on the in-process
// connection.
func (h *Handler) accountsClient() adminv1.ProviderAccountServiceClient {
	return adminv1.NewProviderAccountServiceClient(h.Conn)
}

func (h *Handler) listProviderAccounts(w http.ResponseWriter, r *http.Request, v visit) {
	pv := &providersView{Form: &accountForm{Provider: connectableProviders[0], Field: map[string]string{}}}
	if r.URL.Query().Get("notice") == "deleted" {
		pv.Notice = "accounts.deleted"
	}
	h.showProviderAccounts(w, r, v, http.StatusOK, pv)
}

func (h *Handler) showProviderAccounts(w http.ResponseWriter, r *http.Request, v visit, status int, pv *providersView) {
	resp, err := h.accountsClient().ListProviderAccounts(v.principal(r.Context()), &adminv1.ListProviderAccountsRequest{Limit: proto.Int32(100)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	pv.Accounts, pv.Providers, pv.CanManage = resp.GetData(), connectableProviders, Allowed(v.role, ActionManageProviders)
	h.render(w, r, status, "providers", &v, "sites", pv)
}

// postedCredentials are the secrets of a posted account form, trimmed.
func postedCredentials(f url.Values) *adminv1.ProviderCredentialsInput {
	return &adminv1.ProviderCredentialsInput{SecretKey: strings.TrimSpace(f.Get("secret_key")),
		PublishableKey: strings.TrimSpace(f.Get("publishable_key")), WebhookSecret: strings.TrimSpace(f.Get("webhook_secret"))}
}

// connectProviderAccount connects an account in the dashboard's mode; the
// answer is the account's page, with the webhook URL to register.
func (h *Handler) connectProviderAccount(w http.ResponseWriter, r *http.Request, v visit) {
	f := r.PostForm
	af := &accountForm{Provider: f.Get("provider"), Name: strings.TrimSpace(f.Get("name")),
		ReusableMandate: f.Get("reusable_mandate") == "on", Field: map[string]string{}}
	req := &adminv1.CreateProviderAccountRequest{Provider: af.Provider, Name: af.Name, ReusableMandate: af.ReusableMandate}
	if creds := postedCredentials(f); af.Provider != "test" || proto.Size(creds) > 0 {
		req.Credentials = creds
	}
	resp, err := h.accountsClient().CreateProviderAccount(v.principal(r.Context()), req)
	if e := apiError(err); e != nil {
		af.fail(accountFieldOfParam(e.Param), e.Message)
		h.showProviderAccounts(w, r, v, http.StatusBadRequest, &providersView{Form: af})
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/providers/"+url.PathEscape(resp.GetProviderAccount().GetId())+"?notice=connected", http.StatusSeeOther)
}

func (h *Handler) showProviderAccount(w http.ResponseWriter, r *http.Request, v visit) {
	pv := &providerView{Form: &accountForm{Field: map[string]string{}}}
	switch n := r.URL.Query().Get("notice"); n {
	case "connected", "updated", "disabled", "enabled":
		pv.Notice = "accounts." + n
	}
	h.renderProviderAccount(w, r, v, http.StatusOK, pv)
}

// renderProviderAccount loads the account of the path and renders its page.
func (h *Handler) renderProviderAccount(w http.ResponseWriter, r *http.Request, v visit, status int, pv *providerView) {
	resp, err := h.accountsClient().GetProviderAccount(v.principal(r.Context()), &adminv1.GetProviderAccountRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	pv.Account, pv.CanManage = resp.GetProviderAccount(), Allowed(v.role, ActionManageProviders)
	if pv.Form.Name == "" && len(pv.Form.Errors) == 0 {
		pv.Form.Name = pv.Account.GetName()
	}
	h.render(w, r, status, "provider", &v, "sites", pv)
}

// updateProviderAccount renames the account and replaces the secrets typed
// (rotation); a blank secret keeps the stored one.
func (h *Handler) updateProviderAccount(w http.ResponseWriter, r *http.Request, v visit) {
	f := r.PostForm
	af := &accountForm{Name: strings.TrimSpace(f.Get("name")), Field: map[string]string{}}
	creds := postedCredentials(f)
	paths := []string{"name"}
	for field, value := range map[string]string{"secret_key": creds.GetSecretKey(), "publishable_key": creds.GetPublishableKey(),
		"webhook_secret": creds.GetWebhookSecret()} {
		if value != "" {
			paths = append(paths, "credentials."+field)
		}
	}
	id := r.PathValue("id")
	_, err := h.accountsClient().UpdateProviderAccount(v.principal(r.Context()), &adminv1.UpdateProviderAccountRequest{Id: id,
		Name: af.Name, Credentials: creds, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
	if e := apiError(err); e != nil && e.Param != "id" {
		af.fail(accountFieldOfParam(e.Param), e.Message)
		h.renderProviderAccount(w, r, v, http.StatusBadRequest, &providerView{Form: af})
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/providers/"+url.PathEscape(id)+"?notice=updated", http.StatusSeeOther)
}

// setProviderAccountDisabled disables the account (the form posts
// disabled=true) or enables it again (false), through the API's update.
func (h *Handler) setProviderAccountDisabled(w http.ResponseWriter, r *http.Request, v visit) {
	disabled := r.PostForm.Get("disabled") == "true"
	id := r.PathValue("id")
	_, err := h.accountsClient().UpdateProviderAccount(v.principal(r.Context()), &adminv1.UpdateProviderAccountRequest{Id: id,
		Disabled: disabled, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"disabled"}}})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	notice := map[bool]string{true: "disabled", false: "enabled"}[disabled]
	http.Redirect(w, r, Prefix+"/providers/"+url.PathEscape(id)+"?notice="+notice, http.StatusSeeOther)
}

// deleteProviderAccount disconnects the account and forgets its secrets;
// the API refuses while a site uses it, which the page says.
func (h *Handler) deleteProviderAccount(w http.ResponseWriter, r *http.Request, v visit) {
	_, err := h.accountsClient().DeleteProviderAccount(v.principal(r.Context()), &adminv1.DeleteProviderAccountRequest{Id: r.PathValue("id")})
	if e := apiError(err); e != nil && !isNotFound(err) {
		af := &accountForm{Field: map[string]string{}}
		af.fail("delete", e.Message)
		h.renderProviderAccount(w, r, v, http.StatusConflict, &providerView{Form: af})
		return
	} else if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/providers?notice=deleted", http.StatusSeeOther)
}

// accountFieldOfParam is the form input an API error names:
// credentials[secret_key] is secret_key.
func accountFieldOfParam(param string) string {
	switch param {
	case "provider", "name", "reusable_mandate":
		return param
	case "credentials":
		return "secret_key"
	}
	if f, ok := strings.CutPrefix(param, "credentials["); ok {
		return strings.TrimSuffix(f, "]")
	}
	if f, ok := strings.CutPrefix(param, "credentials_"); ok { // an update mask's path
		return f
	}
	return "secret_key"
}

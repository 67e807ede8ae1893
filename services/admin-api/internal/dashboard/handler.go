// Package dashboard is the Admin Panel: the merchant's people sign in with
// email and password and see and act on their organization's checkouts.
// Pages are rendered on the server with html/template and work without
// JavaScript. Every action goes through admin-api's in-process gRPC
// connection as the signed-in user's organization (auth.AsUser), so the
// dashboard runs the API's own validation, idempotency and events: it holds
// no business logic of its own, only who may do what (roles.go).
package dashboard

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	// The zone database is compiled in: users' time zones work on a host or
	// container without /usr/share/zoneinfo.
	_ "time/tzdata"

	"google.golang.org/grpc"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/store"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/ratelimit"
	"github.com/tillpoint/tillpoint/services/platform/secretbox"
)

// Prefix is where the dashboard is served on admin-api's host.
const Prefix = "/dashboard"

// Landing is the page a user lands on: /dashboard itself, after signing in
// without a page to go back to, and after accepting an invitation. The
// Overview says at a glance how today and the month went, and links on.
const Landing = Prefix + "/overview"

// Handler serves the dashboard. Set the fields, then call Init.
type Handler struct {
	Store *store.Store
	// Conn is admin-api's in-process connection to its own gRPC services.
	Conn   grpc.ClientConnInterface
	Logger *slog.Logger
	// Keys seal the users' two-factor (TOTP) secrets.
	Keys *secretbox.Keyring
	// Secure is true when the dashboard is served over https: cookies are
	// Secure and take the __Host- prefix, and HSTS is sent.
	Secure bool
	// IdleTimeout and AbsoluteTimeout end sessions (defaults when 0).
	IdleTimeout, AbsoluteTimeout time.Duration
	// LoginLimits bound sign-in attempts.
	LoginLimits LoginLimits
	// Now is the clock of the Overview's "today" and of two-factor codes
	// (time.Now when nil).
	Now func() time.Time

	sessions adminv1.CheckoutSessionServiceClient
	sites    adminv1.SiteServiceClient
	payments adminv1.PaymentServiceClient
	events   adminv1.EventServiceClient
	hooks    adminv1.WebhookEndpointServiceClient
	refunds  adminv1.RefundServiceClient
	keys     adminv1.ApiKeyServiceClient
	routes   adminv1.RouteServiceClient
	products adminv1.ProductServiceClient
	prices   adminv1.PriceServiceClient
	people   adminv1.CustomerServiceClient
	coupons  adminv1.CouponServiceClient
	promos   adminv1.PromotionCodeServiceClient
	subs     adminv1.SubscriptionServiceClient
	invoices adminv1.InvoiceServiceClient
	pages    *renderer
	// dummyHash is verified against when an email is unknown, so that the
	// answer takes as long as for a wrong password (no user enumeration).
	dummyHash string
	mux       *http.ServeMux
}

// LoginLimits are the sign-in rate limits (per replica; nil limits
// nothing). Failed attempts count; while either bucket is empty every
// attempt is refused with the same answer, known email or not.
type LoginLimits struct {
	PerAddr, PerAccount *ratelimit.Limiter
}

// Default sign-in limits: a person mistyping gets 10 tries, then one a
// minute per account; an address (an office behind one NAT) gets 30 then
// one every 6 seconds.
const (
	failuresPerAccountPerSecond, failuresPerAccountBurst = 1.0 / 60, 10
	failuresPerAddrPerSecond, failuresPerAddrBurst       = 1.0 / 6, 30
)

// NewLoginLimits returns the default sign-in limits.
func NewLoginLimits() LoginLimits {
	return LoginLimits{
		PerAccount: ratelimit.New(failuresPerAccountPerSecond, failuresPerAccountBurst, 0),
		PerAddr:    ratelimit.New(failuresPerAddrPerSecond, failuresPerAddrBurst, 0),
	}
}

// Init parses the templates and builds the routes.
func (h *Handler) Init(ctx context.Context) error {
	if h.Store == nil || h.Conn == nil || h.Logger == nil || h.Keys == nil {
		return errors.New("dashboard: Store, Conn, Logger and Keys are required")
	}
	pages, err := newRenderer()
	if err != nil {
		return err
	}
	dummy, err := HashPassword(ctx, GeneratePassword())
	if err != nil {
		return err
	}
	h.pages, h.dummyHash = pages, dummy
	h.sessions = adminv1.NewCheckoutSessionServiceClient(h.Conn)
	h.sites = adminv1.NewSiteServiceClient(h.Conn)
	h.payments = adminv1.NewPaymentServiceClient(h.Conn)
	h.events = adminv1.NewEventServiceClient(h.Conn)
	h.hooks = adminv1.NewWebhookEndpointServiceClient(h.Conn)
	h.refunds = adminv1.NewRefundServiceClient(h.Conn)
	h.keys = adminv1.NewApiKeyServiceClient(h.Conn)
	h.routes = adminv1.NewRouteServiceClient(h.Conn)
	h.products = adminv1.NewProductServiceClient(h.Conn)
	h.prices = adminv1.NewPriceServiceClient(h.Conn)
	h.people = adminv1.NewCustomerServiceClient(h.Conn)
	h.coupons = adminv1.NewCouponServiceClient(h.Conn)
	h.promos = adminv1.NewPromotionCodeServiceClient(h.Conn)
	h.subs = adminv1.NewSubscriptionServiceClient(h.Conn)
	h.invoices = adminv1.NewInvoiceServiceClient(h.Conn)

	m := http.NewServeMux()
	m.HandleFunc("GET "+Prefix+"/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Landing, http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Landing, http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Prefix+"/login", h.loginPage)
	m.HandleFunc("POST "+Prefix+"/login", h.login)
	m.HandleFunc("GET "+Prefix+"/login/code", h.loginCodePage)
	m.HandleFunc("POST "+Prefix+"/login/code", h.loginCode)
	m.HandleFunc("GET "+Prefix+"/lang", h.setLang)
	m.Handle("POST "+Prefix+"/logout", h.signedIn(ActionViewCheckouts, h.logout))
	m.Handle("POST "+Prefix+"/logout-everywhere", h.signedIn(ActionViewCheckouts, h.logoutEverywhere))
	m.Handle("POST "+Prefix+"/mode", h.signedIn(ActionViewCheckouts, h.setMode))
	m.Handle("GET "+Prefix+"/account", h.signedIn(ActionViewCheckouts, h.accountPage))
	m.Handle("POST "+Prefix+"/account", h.signedIn(ActionViewCheckouts, h.changePassword))
	m.Handle("POST "+Prefix+"/account/two-factor/setup", h.signedIn(ActionViewCheckouts, h.setupTwoFactor))
	m.Handle("GET "+Prefix+"/account/two-factor", h.signedIn(ActionViewCheckouts, h.twoFactorPage))
	m.Handle("POST "+Prefix+"/account/two-factor", h.signedIn(ActionViewCheckouts, h.enableTwoFactor))
	m.Handle("POST "+Prefix+"/account/two-factor/disable", h.signedIn(ActionViewCheckouts, h.disableTwoFactor))
	m.Handle("POST "+Prefix+"/account/time-zone", h.signedIn(ActionViewCheckouts, h.setTimeZone))
	m.Handle("GET "+Prefix+"/organizations", h.signedIn(ActionViewCheckouts, h.listOrgs))
	m.Handle("POST "+Prefix+"/organizations", h.signedIn(ActionViewCheckouts, h.switchOrg))
	m.Handle("GET "+Prefix+"/overview", h.signedIn(ActionViewCheckouts, h.overview))
	m.Handle("GET "+Prefix+"/checkouts", h.signedIn(ActionViewCheckouts, h.listCheckouts))
	m.Handle("GET "+Prefix+"/checkouts/export.csv", h.signedIn(ActionViewCheckouts, h.exportCheckouts))
	m.Handle("GET "+Prefix+"/checkouts/new", h.signedIn(ActionCreateCheckout, h.newCheckout))
	m.Handle("POST "+Prefix+"/checkouts/new", h.signedIn(ActionCreateCheckout, h.createCheckout))
	m.Handle("GET "+Prefix+"/checkouts/{id}", h.signedIn(ActionViewCheckouts, h.showCheckout))
	m.Handle("POST "+Prefix+"/checkouts/{id}/expire", h.signedIn(ActionExpireCheckout, h.expireCheckout))
	m.Handle("POST "+Prefix+"/checkouts/{id}/payments/{payment}/refund", h.signedIn(ActionRefund, h.refundPayment))
	m.Handle("POST "+Prefix+"/checkouts/{id}/events/{event}/resend", h.signedIn(ActionResendWebhook, h.resendDelivery))
	m.Handle("GET "+Prefix+"/sites", h.signedIn(ActionViewSites, h.listSitesPage))
	m.Handle("GET "+Prefix+"/sites/new", h.signedIn(ActionManageSites, h.newSite))
	m.Handle("POST "+Prefix+"/sites/new", h.signedIn(ActionManageSites, h.saveSite))
	m.Handle("GET "+Prefix+"/sites/{id}", h.signedIn(ActionViewSites, h.editSite))
	m.Handle("POST "+Prefix+"/sites/{id}", h.signedIn(ActionManageSites, h.saveSite))
	m.Handle("GET "+Prefix+"/developers/api-keys", h.signedIn(ActionManageKeys, h.listKeys))
	m.Handle("POST "+Prefix+"/developers/api-keys", h.signedIn(ActionManageKeys, h.createKey))
	m.Handle("GET "+Prefix+"/developers/api-keys/{id}/revoke", h.signedIn(ActionManageKeys, h.confirmRevoke))
	m.Handle("POST "+Prefix+"/developers/api-keys/{id}/revoke", h.signedIn(ActionManageKeys, h.revokeKey))
	m.Handle("GET "+Prefix+"/developers/webhooks", h.signedIn(ActionManageWebhooks, h.listWebhooks))
	m.Handle("POST "+Prefix+"/developers/webhooks", h.signedIn(ActionManageWebhooks, h.createWebhook))
	m.Handle("GET "+Prefix+"/developers/webhooks/{id}", h.signedIn(ActionManageWebhooks, h.webhook))
	m.Handle("POST "+Prefix+"/developers/webhooks/{id}/rotate", h.signedIn(ActionManageWebhooks, h.rotateWebhookSecret))
	m.Handle("POST "+Prefix+"/developers/webhooks/{id}/status", h.signedIn(ActionManageWebhooks, h.setWebhookStatus))
	m.Handle("POST "+Prefix+"/developers/webhooks/{id}/resend", h.signedIn(ActionManageWebhooks, h.resendWebhookEvent))
	m.Handle("GET "+Prefix+"/developers/events", h.signedIn(ActionManageWebhooks, h.listEvents))
	m.Handle("GET "+Prefix+"/developers/events/{id}", h.signedIn(ActionManageWebhooks, h.showEvent))
	m.Handle("GET "+Prefix+"/team", h.signedIn(ActionManageTeam, h.teamPage))
	m.Handle("POST "+Prefix+"/team/invitations", h.signedIn(ActionManageTeam, h.invite))
	m.Handle("POST "+Prefix+"/team/invitations/{id}/revoke", h.signedIn(ActionManageTeam, h.revokeInvitation))
	m.Handle("POST "+Prefix+"/team/members/{id}/role", h.signedIn(ActionManageTeam, h.setMemberRole))
	m.Handle("POST "+Prefix+"/team/members/{id}/remove", h.signedIn(ActionManageTeam, h.removeMember))
	m.Handle("GET "+Prefix+"/audit", h.signedIn(ActionViewAudit, h.auditPage))
	m.Handle("GET "+Prefix+"/catalog", http.RedirectHandler(Prefix+"/catalog/products", http.StatusSeeOther))
	m.Handle("GET "+Prefix+"/catalog/products", h.signedIn(ActionViewCatalog, h.listProducts))
	m.Handle("POST "+Prefix+"/catalog/products", h.signedIn(ActionManageCatalog, h.createProduct))
	m.Handle("GET "+Prefix+"/catalog/products/{id}", h.signedIn(ActionViewCatalog, h.showProduct))
	m.Handle("POST "+Prefix+"/catalog/products/{id}/prices", h.signedIn(ActionManageCatalog, h.addPrice))
	m.Handle("POST "+Prefix+"/catalog/products/{id}/archive", h.signedIn(ActionManageCatalog, h.archiveProduct))
	m.Handle("POST "+Prefix+"/catalog/prices/{id}/archive", h.signedIn(ActionManageCatalog, h.archivePrice))
	m.Handle("GET "+Prefix+"/catalog/customers", h.signedIn(ActionViewCatalog, h.listCustomers))
	m.Handle("GET "+Prefix+"/catalog/customers/{id}", h.signedIn(ActionViewCatalog, h.showCustomer))
	m.Handle("GET "+Prefix+"/catalog/discounts", h.signedIn(ActionViewCatalog, h.listDiscounts))
	m.Handle("POST "+Prefix+"/catalog/coupons", h.signedIn(ActionManageCatalog, h.createCoupon))
	m.Handle("POST "+Prefix+"/catalog/coupons/{id}/delete", h.signedIn(ActionManageCatalog, h.deleteCoupon))
	m.Handle("POST "+Prefix+"/catalog/promotion-codes", h.signedIn(ActionManageCatalog, h.createPromotionCode))
	m.Handle("POST "+Prefix+"/catalog/promotion-codes/{id}/deactivate", h.signedIn(ActionManageCatalog, h.deactivatePromotionCode))
	m.Handle("GET "+Prefix+"/subscriptions", h.signedIn(ActionViewBilling, h.listSubscriptions))
	m.Handle("GET "+Prefix+"/subscriptions/{id}", h.signedIn(ActionViewBilling, h.showSubscription))
	m.Handle("POST "+Prefix+"/subscriptions/{id}/cancel", h.signedIn(ActionCancelSubscription, h.cancelSubscription))
	m.Handle("GET "+Prefix+"/invoices", h.signedIn(ActionViewBilling, h.listInvoices))
	m.Handle("GET "+Prefix+"/invoices/{id}", h.signedIn(ActionViewBilling, h.showInvoice))
	h.routingPages(m)
	m.HandleFunc("GET "+Prefix+"/invite/{token}", h.invitePage)
	m.HandleFunc("POST "+Prefix+"/invite/{token}", h.acceptInvite)
	m.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		h.errorPage(w, r, nil, http.StatusNotFound)
	})
	h.mux = m
	return nil
}

// ServeHTTP serves the dashboard's routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// signedInFunc is a page for a signed-in user allowed to do its action.
type signedInFunc func(w http.ResponseWriter, r *http.Request, v visit)

// signedIn checks, before fn runs: a live session (else the sign-in page),
// the role's permission for action (else 403), and on a POST the form's
// CSRF token (else 403).
func (h *Handler) signedIn(action Action, fn signedInFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok, err := h.loadVisit(r.Context(), r)
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		if !ok {
			next := ""
			if r.Method == http.MethodGet {
				next = "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, Prefix+"/login"+next, http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil || !validToken(r.PostForm.Get("csrf_token"), v.csrf) {
				h.errorPage(w, r, &v, http.StatusForbidden)
				return
			}
		}
		if !Allowed(v.role, action) {
			h.errorPage(w, r, &v, http.StatusForbidden)
			return
		}
		fn(w, r, v)
	})
}

// maxFormBytes bounds a form post: the create form with 100 line items is
// well under it.
const maxFormBytes = 256 << 10

// principal is the context of a gRPC call on behalf of v's organization and
// mode.
func (v visit) principal(ctx context.Context) context.Context {
	return auth.AsUser(ctx, auth.Principal{OrganizationID: v.orgID, Livemode: v.livemode, UserID: v.userID, UserEmail: v.email})
}

// apiError is err as the API's domain error, or nil when it is not one the
// user can act on (an outage or a bug).
func apiError(err error) *errs.Error {
	var e *errs.Error
	if errors.As(grpcx.DomainError(err), &e) && e.Kind != errs.Internal && e.Kind != errs.Unavailable {
		return e
	}
	return nil
}

// isNotFound reports whether err is the API's 404.
func isNotFound(err error) bool {
	e := apiError(err)
	return e != nil && e.Kind == errs.NotFound
}

// safeNext is a local dashboard path to go to after signing in, or the
// landing page: never another host (no open redirect).
func safeNext(next string) string {
	if strings.HasPrefix(next, Prefix+"/") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return Landing
}

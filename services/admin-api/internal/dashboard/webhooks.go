package dashboard

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/idempotency"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// deliveriesPerPage is how many deliveries an endpoint's page shows.
const deliveriesPerPage = 25

// signatureFormats are the formats the create form offers (hooks' names).
var signatureFormats = []string{"standard", "stripe"}

// webhooksView is the Webhook endpoints page's data: the list and the
// create form.
type webhooksView struct {
	Endpoints []*adminv1.WebhookEndpoint
	// The form as typed, and its problem.
	URL, Description, Format string
	Events                   []string
	Error                    string
	IdempotencyKey           string
}

// endpointView is one endpoint's page: the endpoint, its secret when it was
// just made or rotated (shown this once), and its delivery log.
type endpointView struct {
	Endpoint   *adminv1.WebhookEndpoint
	Secret     string
	Deliveries []*adminv1.Delivery
	// After is the last delivery shown when there are more (Older).
	After  string
	Notice string
}

func (h *Handler) listWebhooks(w http.ResponseWriter, r *http.Request, v visit) {
	h.showWebhooks(w, r, v, http.StatusOK, &webhooksView{Format: signatureFormats[0]})
}

func (h *Handler) showWebhooks(w http.ResponseWriter, r *http.Request, v visit, status int, wv *webhooksView) {
	resp, err := h.hooks.ListWebhookEndpoints(v.principal(r.Context()), &adminv1.ListWebhookEndpointsRequest{Limit: proto.Int32(100)})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	wv.Endpoints = resp.GetData()
	if wv.IdempotencyKey == "" {
		wv.IdempotencyKey = newToken()
	}
	h.render(w, r, status, "webhooks", &v, "developers", wv)
}

// createWebhook makes an endpoint through the API; the answer is the
// endpoint's page with its signing secret, shown this once.
func (h *Handler) createWebhook(w http.ResponseWriter, r *http.Request, v visit) {
	f := r.PostForm
	wv := &webhooksView{URL: strings.TrimSpace(f.Get("url")), Description: strings.TrimSpace(f.Get("description")),
		Format: f.Get("signature_format"), Events: f["enabled_events"], IdempotencyKey: f.Get("idempotency_key")}
	tr := translator(pageLang(r))
	switch {
	case wv.URL == "":
		wv.Error = tr.T("hooks.err_url")
	case len(wv.Events) == 0:
		wv.Error = tr.T("hooks.err_events")
	}
	if wv.Error == "" {
		ctx := metadata.AppendToOutgoingContext(v.principal(r.Context()), idempotency.KeyHeader, wv.IdempotencyKey)
		resp, err := h.hooks.CreateWebhookEndpoint(ctx, &adminv1.CreateWebhookEndpointRequest{Url: wv.URL,
			EnabledEvents: wv.Events, Description: wv.Description, SignatureFormat: wv.Format})
		if e := apiError(err); e != nil {
			wv.Error = e.Message
		} else if err != nil {
			h.fail(w, r, &v, err)
			return
		} else {
			h.showEndpoint(w, r, v, http.StatusCreated, &endpointView{Endpoint: resp.GetWebhookEndpoint(),
				Secret: resp.GetWebhookEndpoint().GetSecret(), Notice: "hooks.created"})
			return
		}
	}
	wv.IdempotencyKey = "" // the next attempt has other parameters
	h.showWebhooks(w, r, v, http.StatusBadRequest, wv)
}

// webhook shows one endpoint and its delivery log.
func (h *Handler) webhook(w http.ResponseWriter, r *http.Request, v visit) {
	resp, err := h.hooks.GetWebhookEndpoint(v.principal(r.Context()), &adminv1.GetWebhookEndpointRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	ev := &endpointView{Endpoint: resp.GetWebhookEndpoint()}
	if n := r.URL.Query().Get("notice"); slices.Contains([]string{"enabled", "disabled", "resent"}, n) {
		ev.Notice = "hooks." + n
	}
	h.showEndpoint(w, r, v, http.StatusOK, ev)
}

// showEndpoint adds the endpoint's deliveries (a page of them, from the
// "after" cursor) and renders it.
func (h *Handler) showEndpoint(w http.ResponseWriter, r *http.Request, v visit, status int, ev *endpointView) {
	resp, err := h.hooks.ListEndpointDeliveries(v.principal(r.Context()), &adminv1.ListEndpointDeliveriesRequest{
		Id: ev.Endpoint.GetId(), Limit: proto.Int32(deliveriesPerPage), StartingAfter: r.URL.Query().Get("after")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	ev.Deliveries = resp.GetData()
	if resp.GetHasMore() && len(ev.Deliveries) > 0 {
		ev.After = ev.Deliveries[len(ev.Deliveries)-1].GetId()
	}
	h.render(w, r, status, "webhook", &v, "developers", ev)
}

// rotateWebhookSecret makes a new signing secret and shows it once; hooks
// keeps signing with the old one too for 24 hours.
func (h *Handler) rotateWebhookSecret(w http.ResponseWriter, r *http.Request, v visit) {
	resp, err := h.hooks.RotateWebhookEndpointSecret(v.principal(r.Context()), &adminv1.RotateWebhookEndpointSecretRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	h.showEndpoint(w, r, v, http.StatusOK, &endpointView{Endpoint: resp.GetWebhookEndpoint(),
		Secret: resp.GetWebhookEndpoint().GetSecret(), Notice: "hooks.rotated"})
}

// setWebhookStatus disables the endpoint (status=disabled) or enables it.
func (h *Handler) setWebhookStatus(w http.ResponseWriter, r *http.Request, v visit) {
	id, disabled := r.PathValue("id"), r.PostForm.Get("status") == "disabled"
	_, err := h.hooks.UpdateWebhookEndpoint(v.principal(r.Context()), &adminv1.UpdateWebhookEndpointRequest{Id: id,
		Disabled: disabled, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"disabled"}}})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	notice := map[bool]string{true: "disabled", false: "enabled"}[disabled]
	http.Redirect(w, r, Prefix+"/developers/webhooks/"+url.PathEscape(id)+"?notice="+notice, http.StatusSeeOther)
}

// resendWebhookEvent sends an event of the endpoint's log again to it, as
// the same message; an event the endpoint never had is the API's 404.
func (h *Handler) resendWebhookEvent(w http.ResponseWriter, r *http.Request, v visit) {
	id := r.PathValue("id")
	_, err := h.hooks.ResendEvent(v.principal(r.Context()), &adminv1.ResendEventRequest{Id: r.PostForm.Get("event"), WebhookEndpoint: id})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	http.Redirect(w, r, Prefix+"/developers/webhooks/"+url.PathEscape(id)+"?notice=resent", http.StatusSeeOther)
}

// eventTypes are the event types the create form offers.
func eventTypes() []string { return webhook.EventTypes }

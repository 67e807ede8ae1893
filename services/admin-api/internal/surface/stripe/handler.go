// Package stripe is admin-api's Stripe dialect: Stripe's checkout session
// API, as Stripe's official SDKs call it, translated at the edge onto the
// same CheckoutSessionService as Tillpoint's own API.
//
// # The dialect rule
//
// A request carrying a `Stripe-Version` header (Stripe's SDKs always send
// one) is served by this package: form-encoded parameters in, Stripe's
// object shapes out (platform/stripecompat), Stripe's error shape and HTTP
// statuses. A request without it gets Tillpoint's own API, unchanged. The
// version's value is not interpreted: the shapes are those of
// stripecompat.APIVersion. Routes the dialect does not serve (anything but
// checkout sessions) answer 404 in Stripe's error shape rather than in
// Tillpoint's own shapes, which an SDK would decode wrongly.
//
// Every call goes through admin-api's in-process gRPC connection, so
// authentication (`Authorization: Bearer sk_…`, or Basic with the key as
// user name as in Stripe's curl examples), Idempotency-Key, validation and
// rate limits are the core's. The translation of parameters is in
// params.go and query.go, its inverse for error parameters in errparams.go.
package stripe

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
	"github.com/tillpoint/tillpoint/services/platform/stripecompat"
)

// VersionHeader is the header that selects the Stripe dialect.
const VersionHeader = "Stripe-Version"

// Dialect serves requests carrying a Stripe-Version header with stripe and
// all others with next.
func Dialect(stripe, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(VersionHeader) != "" {
			stripe.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// New returns the Stripe dialect's routes over sessions (a client on
// admin-api's in-process connection).
func New(sessions adminv1.CheckoutSessionServiceClient) http.Handler {
	h := &handler{sessions: sessions}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/checkout/sessions", h.create)
	mux.HandleFunc("GET /v1/checkout/sessions", h.list)
	mux.HandleFunc("GET /v1/checkout/sessions/{id}", h.retrieve)
	mux.HandleFunc("GET /v1/checkout/sessions/{id}/line_items", h.listLineItems)
	mux.HandleFunc("POST /v1/checkout/sessions/{id}/expire", h.expire)
	mux.HandleFunc("/", notFound)
	return gateway.APIPrefix(mux)
}

type handler struct {
	sessions adminv1.CheckoutSessionServiceClient
}

func (h *handler) create(w http.ResponseWriter, r *http.Request) {
	f, err := formBody(r)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	c, err := createRequest(f)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	ctx, err := outgoing(r)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	var hdr metadata.MD
	resp, err := h.sessions.CreateCheckoutSession(ctx, c.req, grpc.Header(&hdr))
	if err != nil {
		fail(w, r, err, c.currencyParam)
		return
	}
	respond(w, hdr, stripecompat.NewSession(resp.GetCheckoutSession(), c.expand))
}

func (h *handler) retrieve(w http.ResponseWriter, r *http.Request) {
	f, err := queryParams(r)
	h.one(w, r, f, err, func(ctx context.Context, id string, opt grpc.CallOption) (*adminv1.CheckoutSession, error) {
		resp, err := h.sessions.GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: id}, opt)
		return resp.GetCheckoutSession(), err
	})
}

func (h *handler) expire(w http.ResponseWriter, r *http.Request) {
	f, err := formBody(r)
	h.one(w, r, f, err, func(ctx context.Context, id string, opt grpc.CallOption) (*adminv1.CheckoutSession, error) {
		resp, err := h.sessions.ExpireCheckoutSession(ctx, &adminv1.ExpireCheckoutSessionRequest{Id: id}, opt)
		return resp.GetCheckoutSession(), err
	})
}

// one answers the session that call returns for the path's id; f (parsed
// with error ferr) may hold only expand[]=line_items.
func (h *handler) one(w http.ResponseWriter, r *http.Request, f form, ferr error,
	call func(ctx context.Context, id string, opt grpc.CallOption) (*adminv1.CheckoutSession, error)) {
	expand, err := expandOnly(f, "line_items")
	ctx, oerr := outgoing(r)
	if err := cmp.Or(ferr, err, oerr); err != nil {
		fail(w, r, err, "")
		return
	}
	var hdr metadata.MD
	cs, err := call(ctx, r.PathValue("id"), grpc.Header(&hdr))
	if err != nil {
		fail(w, r, err, "")
		return
	}
	respond(w, hdr, stripecompat.NewSession(cs, expand))
}

func (h *handler) list(w http.ResponseWriter, r *http.Request) {
	f, err := queryParams(r)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	req, expand, err := listRequest(f)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	ctx, err := outgoing(r)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	var hdr metadata.MD
	resp, err := h.sessions.ListCheckoutSessions(ctx, req, grpc.Header(&hdr))
	if err != nil {
		fail(w, r, err, "")
		return
	}
	data := make([]*stripecompat.Session, len(resp.GetData()))
	for i, cs := range resp.GetData() {
		data[i] = stripecompat.NewSession(cs, expand)
	}
	respond(w, hdr, stripecompat.NewList(data, resp.GetHasMore(), "/v1/checkout/sessions"))
}

func (h *handler) listLineItems(w http.ResponseWriter, r *http.Request) {
	f, err := queryParams(r)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	pg, err := lineItemPageOf(f)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	ctx, err := outgoing(r)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	var hdr metadata.MD
	resp, err := h.sessions.GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: r.PathValue("id")}, grpc.Header(&hdr))
	if err != nil {
		fail(w, r, err, "")
		return
	}
	all := stripecompat.NewLineItemList(resp.GetCheckoutSession())
	data, more, err := pg.apply(all.Data)
	if err != nil {
		fail(w, r, err, "")
		return
	}
	respond(w, hdr, stripecompat.NewList(data, more, all.URL))
}

func notFound(w http.ResponseWriter, r *http.Request) {
	gateway.WriteError(w, &errs.Error{Kind: errs.NotFound, Code: "route_not_found",
		Message: "Unrecognized request URL (" + r.Method + ": " + r.URL.Path + "). Tillpoint's Stripe-compatible API " +
			"(requests with a Stripe-Version header) serves checkout sessions only: see docs/surfaces/stripe.md."})
}

// outgoing is r's context with the headers the core reads as gRPC
// metadata, as the JSON API forwards them (gateway.OutgoingMetadata), the
// key being turned from Basic into Bearer.
func outgoing(r *http.Request) (context.Context, error) {
	md, err := gateway.OutgoingMetadata(r)
	if err != nil {
		return nil, err
	}
	for i, v := range md.Get(gateway.MetadataAuthorization) {
		md[gateway.MetadataAuthorization][i] = bearer(v)
	}
	return metadata.NewOutgoingContext(r.Context(), md), nil
}

// bearer turns `Basic base64(sk_…:)`, as `curl -u sk_test_…:` sends it in
// Stripe's examples, into `Bearer sk_…`; any other value is passed as is.
func bearer(v string) string {
	enc, ok := strings.CutPrefix(v, "Basic ")
	if !ok {
		return v
	}
	dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(enc))
	if err != nil {
		return v
	}
	user, _, _ := strings.Cut(string(dec), ":")
	return "Bearer " + user
}

// formBody parses a POST's form-encoded body; Stripe's SDKs send nothing
// else. Parameters in the query string of a POST are refused, not ignored.
func formBody(r *http.Request) (form, error) {
	if r.URL.RawQuery != "" {
		first, _, _ := strings.Cut(r.URL.RawQuery, "=")
		return form{}, errs.Param(first, codeInvalid, "Send the parameters of a POST in its form-encoded body, not in the URL.")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return form{}, err
	}
	if len(body) > 0 {
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
			return form{}, errs.Param("Content-Type", "content_type_invalid",
				"The Stripe dialect (a request with a Stripe-Version header) takes application/x-www-form-urlencoded bodies, as Stripe's SDKs send them.")
		}
	}
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return form{}, errs.Param("", codeInvalid, "Invalid form-encoded body: %v.", err)
	}
	return parseForm(vals)
}

func queryParams(r *http.Request) (form, error) {
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return form{}, errs.Param("", codeInvalid, "Invalid query string: %v.", err)
	}
	return parseForm(vals)
}

// fail writes err in Stripe's error shape (which is Tillpoint's): a
// translation error as it is, a core error with its parameter renamed into
// Stripe's (currencyParam: see stripeParam).
func fail(w http.ResponseWriter, r *http.Request, err error, currencyParam string) {
	if httpx.RespondTooLarge(w, r, err) {
		return
	}
	if _, ok := errs.As(err); !ok {
		if e, ok := errs.As(grpcx.DomainError(err)); ok && e.Param != "" {
			renamed := *e
			renamed.Param = stripeParam(e.Param, currencyParam)
			renamed.Message = strings.ReplaceAll(e.Message, e.Param, renamed.Param)
			err = &renamed
		}
	}
	gateway.WriteError(w, err)
}

// respond writes v as a 200 JSON answer (Stripe answers creations with 200
// too), with the core's Request-Id and Idempotent-Replayed headers.
func respond(w http.ResponseWriter, hdr metadata.MD, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		gateway.WriteError(w, err)
		return
	}
	for key, name := range map[string]string{gateway.MetadataRequestID: "Request-Id", gateway.MetadataIdempotentReplayed: "Idempotent-Replayed"} {
		for _, v := range hdr.Get(key) {
			w.Header().Add(name, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b) // the caller has gone; nothing left to tell
}

// Package paymentkit serves the PaymentKit API shape (seed 002) on admin-api:
// `POST /api/{account_id}/checkout-sessions` and
// `GET /api/{account_id}/checkout-sessions/{id}`, authenticated by
// `Authorization: Bearer sk_…`. It only translates: each request becomes a
// call of the CheckoutSessionService on admin-api's in-process connection,
// so authentication, the account check, idempotency, validation and rate
// limits are the same interceptors and code as for every other route.
//
// The hosted page of a PaymentKit session is {checkout base}/c/{secure_token}
// (SecureURL), served by checkout-runtime, which resolves the token through
// admin-api's internal API.
package paymentkit

import (
	"context"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	pkv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/surface/paymentkit/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
)

// Handler serves the PaymentKit routes.
type Handler struct {
	// Sessions is the CheckoutSessionService on the in-process connection
	// (with the server's interceptors).
	Sessions adminv1.CheckoutSessionServiceClient
	// CheckoutBase is scheme://MAIN_FRONTEND_DOMAIN, the start of the
	// hosted page's address.
	CheckoutBase string
}

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/{account_id}/checkout-sessions", h.create)
	mux.HandleFunc("GET /api/{account_id}/checkout-sessions/{id}", h.get)
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var in pkv1.CreatePaymentKitSessionParams
	if err := gateway.DecodeBody(r.Body, &in); err != nil {
		gateway.WriteError(w, err)
		return
	}
	req, err := CreateRequest(&in)
	if err != nil {
		gateway.WriteError(w, err)
		return
	}
	h.call(w, r, http.StatusCreated, func(ctx context.Context, opt grpc.CallOption) (proto.Message, error) {
		resp, err := h.Sessions.CreateCheckoutSession(ctx, req, opt)
		if err != nil {
			return nil, err
		}
		return Session(resp.GetCheckoutSession(), r.PathValue("account_id"), resp.GetSecureToken(), h.CheckoutBase), nil
	})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	h.call(w, r, http.StatusOK, func(ctx context.Context, opt grpc.CallOption) (proto.Message, error) {
		// ?expand=custom_fields (seed 002), repeatable, or expand[]=….
		q := r.URL.Query()
		expand := append(q["expand"], q["expand[]"]...)
		resp, err := h.Sessions.GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: r.PathValue("id"), Expand: expand}, opt)
		if err != nil {
			return nil, err
		}
		return Session(resp.GetCheckoutSession(), r.PathValue("account_id"), "", h.CheckoutBase), nil
	})
}

// call makes one service call for r, as the caller's key and scoped to the
// route's account, and writes its answer: the object, or the error in the
// API's one error shape with this surface's parameter names.
func (h *Handler) call(w http.ResponseWriter, r *http.Request, status int, do func(context.Context, grpc.CallOption) (proto.Message, error)) {
	md, err := gateway.OutgoingMetadata(r)
	if err != nil {
		gateway.WriteError(w, err)
		return
	}
	md.Set(auth.MetadataAccount, r.PathValue("account_id"))
	var header metadata.MD
	out, err := do(metadata.NewOutgoingContext(r.Context(), md), grpc.Header(&header))
	gateway.CopyResponseHeaders(w.Header(), header)
	if err != nil {
		gateway.WriteError(w, surfaceError(err))
		return
	}
	body, err := gateway.Marshal(out)
	if err != nil {
		gateway.WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(gateway.HTTPCode(header, status))
	_, _ = w.Write(body) // the caller has gone; nothing left to tell
}

// Package collections serves seed 003's USD collections API at admin-api's
// HTTP edge: POST /auth/token (an API key pair for a short-lived access
// token), POST /api/v1/collections and GET /api/v1/collections/{id}. It
// only translates — routes, auth, field names, decimal dollars, status words
// and errors — to the checkout session, site and fee schedule services,
// called through admin-api's in-process gRPC connection so that the
// authentication, idempotency, validation and rate-limit interceptors run.
// A collection is a checkout session on the organization's default site
// (the seed's "app"); its id is the session's.
package collections

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/auth"
	"github.com/tillpoint/tillpoint/services/admin-api/internal/fee"
	"github.com/tillpoint/tillpoint/services/platform/collection"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
)

// maxBody bounds a request body: a collection is a few short fields and at
// most 50 metadata entries.
const maxBody = 64 << 10

// TokenIssuer exchanges an API key pair for an access token
// (auth.Authenticator).
type TokenIssuer interface {
	Issue(ctx context.Context, keyID, secret string) (token string, expires time.Time, err error)
}

// Surface is the collections API over the merchant API's services.
type Surface struct {
	// Conn is admin-api's in-process connection (grpcx.InlineConn).
	Conn   grpc.ClientConnInterface
	Tokens TokenIssuer
}

// Register adds the surface's routes to mux. The collection routes are
// served under /api/v1 (the seed's) and /v1, like every merchant route.
func (s *Surface) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /auth/token", s.token)
	for _, prefix := range []string{"/api/v1", "/v1"} {
		mux.HandleFunc("POST "+prefix+"/collections", s.create)
		mux.HandleFunc("GET "+prefix+"/collections/{id}", s.get)
	}
}

// tokenRequest is POST /auth/token's body: an API key's id as the client id
// and its secret as the client secret (OAuth 2's names are accepted too).
type tokenRequest struct {
	ClientID          string `json:"clientId"`
	ClientSecret      string `json:"clientSecret"`
	OAuthClientID     string `json:"client_id"`
	OAuthClientSecret string `json:"client_secret"`
}

// tokenResponse is POST /auth/token's answer.
type tokenResponse struct {
	AccessToken string `json:"accessToken"`
	TokenType   string `json:"tokenType"`
	ExpiresIn   int64  `json:"expiresIn"`
	ExpiresAt   string `json:"expiresAt"`
}

func (s *Surface) token(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decode(w, r, &req); err != nil {
		writeError(w, err)
		return
	}
	id, secret := first(req.ClientID, req.OAuthClientID), first(req.ClientSecret, req.OAuthClientSecret)
	if id == "" {
		writeError(w, errs.Missing("clientId"))
		return
	}
	if secret == "" {
		writeError(w, errs.Missing("clientSecret"))
		return
	}
	token, expires, err := s.Tokens.Issue(r.Context(), id, secret)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: token, TokenType: "Bearer",
		ExpiresIn: int64(auth.TokenTTL / time.Second), ExpiresAt: expires.UTC().Format(time.RFC3339)})
}

func (s *Surface) create(w http.ResponseWriter, r *http.Request) {
	var body createRequest
	if err := decode(w, r, &body); err != nil {
		writeError(w, err)
		return
	}
	req, err := body.sessionRequest()
	if err != nil {
		writeError(w, err)
		return
	}
	ctx, err := outgoing(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var hdr metadata.MD
	resp, err := adminv1.NewCheckoutSessionServiceClient(s.Conn).CreateCheckoutSession(ctx, req, grpc.Header(&hdr))
	gateway.CopyResponseHeaders(w.Header(), hdr)
	if err != nil {
		writeError(w, err)
		return
	}
	s.answer(ctx, w, http.StatusCreated, resp.GetCheckoutSession())
}

func (s *Surface) get(w http.ResponseWriter, r *http.Request) {
	ctx, err := outgoing(r)
	if err != nil {
		writeError(w, err)
		return
	}
	var hdr metadata.MD
	resp, err := adminv1.NewCheckoutSessionServiceClient(s.Conn).GetCheckoutSession(ctx, &adminv1.GetCheckoutSessionRequest{Id: r.PathValue("id")},
		grpc.Header(&hdr))
	gateway.CopyResponseHeaders(w.Header(), hdr)
	if err != nil {
		writeError(w, err)
		return
	}
	s.answer(ctx, w, http.StatusOK, resp.GetCheckoutSession())
}

// answer writes cs as a collection, with its recorded fee or, until it has
// one, the fee the schedule in force would take.
func (s *Surface) answer(ctx context.Context, w http.ResponseWriter, code int, cs *adminv1.CheckoutSession) {
	processingFee, net, err := collection.Fees(cs, func() (int64, int64, error) { return s.quote(ctx, cs) })
	if err != nil {
		writeError(w, err)
		return
	}
	out, err := collection.FromSession(cs, collection.Status(cs), processingFee, net)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, code, out)
}

// quote is the fee of an unpaid session under the schedule in force, for
// the first payment method the page offers (cards, unless the site
// offers only bank transfers).
func (s *Surface) quote(ctx context.Context, cs *adminv1.CheckoutSession) (int64, int64, error) {
	resp, err := adminv1.NewFeeScheduleServiceClient(s.Conn).GetFeeSchedule(ctx, &adminv1.GetFeeScheduleRequest{})
	if err != nil {
		return 0, 0, err
	}
	rules := fee.FromProto(resp.GetFeeSchedule().GetRules())
	method := ""
	if m := cs.GetPaymentMethodTypes(); len(m) > 0 {
		method = m[0]
	}
	processingFee, net := fee.Compute(rules, method, cs.GetCurrency(), cs.GetAmountTotal())
	return processingFee, net, nil
}

// outgoing is the request's context with the headers the services read
// (the bearer token, Idempotency-Key, …), as our own routes forward them.
func outgoing(r *http.Request) (context.Context, error) {
	md, err := gateway.OutgoingMetadata(r)
	if err != nil {
		return nil, err
	}
	return metadata.NewOutgoingContext(r.Context(), md), nil
}

// decode reads a request body of the collections API.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return gateway.DecodeForeignBody(http.MaxBytesReader(w, r.Body, maxBody), v,
		gateway.BodyCodes{Invalid: "body_invalid", TooLarge: "body_too_large"})
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// errorBody is the surface's error shape.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	Field      string `json:"field,omitempty"`
}

// writeError writes err in the surface's shape, with the core's parameter
// names translated to the surface's.
func writeError(w http.ResponseWriter, err error) {
	info := gateway.DescribeError(err)
	writeJSON(w, info.Status, errorBody{StatusCode: info.Status, Error: http.StatusText(info.Status), Code: info.Code,
		Message: translateMessage(info.Message, info.Param), Field: fieldOf(info.Param)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"statusCode":500,"error":"Internal Server Error","code":"internal","message":"An internal error occurred."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	httpx.SetRetryAfter(w, code)
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

package payporter

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
	"github.com/tillpoint/tillpoint/services/platform/grpcx"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
)

// Surface serves PayPorter's routes over the merchant API's services.
type Surface struct {
	Sessions adminv1.CheckoutSessionServiceClient
	Payments adminv1.PaymentServiceClient
	Logger   *slog.Logger
}

// New returns the surface on conn, admin-api's in-process connection.
func New(conn grpc.ClientConnInterface, logger *slog.Logger) *Surface {
	return &Surface{Sessions: adminv1.NewCheckoutSessionServiceClient(conn),
		Payments: adminv1.NewPaymentServiceClient(conn), Logger: logger}
}

// Register adds the surface's routes to mux.
func (s *Surface) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/checkout", s.create)
	mux.HandleFunc("GET /api/checkout/{checkoutId}", s.get)
}

// createAnswer is PayPorter's create response.
type createAnswer struct {
	CheckoutID  string `json:"checkoutId"`
	RedirectURL string `json:"redirectUrl"`
}

func (s *Surface) create(w http.ResponseWriter, r *http.Request) {
	ctx, err := outgoing(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// PayPorter requests name no site: the core's default site takes them.
	req, err := decodeCreate(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp, err := s.Sessions.CreateCheckoutSession(ctx, req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs := resp.GetCheckoutSession()
	writeJSON(w, http.StatusOK, createAnswer{CheckoutID: cs.GetUuid(), RedirectURL: cs.GetUrl()})
}

func (s *Surface) get(w http.ResponseWriter, r *http.Request) {
	ctx, err := outgoing(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list, err := s.Sessions.ListCheckoutSessions(ctx, &adminv1.ListCheckoutSessionsRequest{Uuid: r.PathValue("checkoutId")})
	if err == nil && len(list.GetData()) == 0 {
		err = errs.NotFoundf("checkoutId", "No such checkout: '%s'.", r.PathValue("checkoutId"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cs := list.GetData()[0]
	var latest *adminv1.Payment
	if cs.GetPayment() != "" {
		p, err := s.Payments.GetPayment(ctx, &adminv1.GetPaymentRequest{Id: cs.GetPayment()})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		latest = p.GetPayment()
	} else {
		page, err := s.Payments.ListPayments(ctx, &adminv1.ListPaymentsRequest{CheckoutSession: cs.GetId(), Limit: ptr(int32(1))})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if len(page.GetData()) > 0 {
			latest = page.GetData()[0]
		}
	}
	out, err := encodePayment(cs, latest)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// outgoing carries the request's credentials and Idempotency-Key to the
// services as the metadata the interceptors read.
func outgoing(r *http.Request) (context.Context, error) {
	md, err := gateway.OutgoingMetadata(r)
	return metadata.NewOutgoingContext(r.Context(), md), err
}

// errorBody is PayPorter's error shape: the HTTP status, a machine code,
// the field at fault (PayPorter's name) when there is one, and a message.
type errorBody struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// fail answers err in PayPorter's error shape. Errors of the services come
// back as gRPC statuses; their parameter is renamed to PayPorter's field.
func (s *Surface) fail(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := errs.As(grpcx.DomainError(err))
	if !ok || e.Kind == errs.Internal {
		id := httpx.NewErrorID()
		s.Logger.ErrorContext(r.Context(), "payporter surface", "error_id", id, "err", err)
		writeJSON(w, http.StatusInternalServerError, errorBody{Status: http.StatusInternalServerError, Code: "internal",
			Message: "An internal error occurred (error id " + id + ")."})
		return
	}
	code := httpStatus(e.Kind)
	if e.Code == "request_too_large" {
		code = http.StatusRequestEntityTooLarge
	}
	writeJSON(w, code, errorBody{Status: code, Code: orDefault(e.Code, e.Kind.String()), Field: field(e.Param), Message: e.Message})
}

// httpStatus maps an error kind to its HTTP status, as the /v1 API does.
func httpStatus(k errs.Kind) int {
	switch k {
	case errs.Invalid, errs.FailedPrecondition, errs.IdempotencyMismatch:
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict, errs.IdempotencyInFlight:
		return http.StatusConflict
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.PermissionDenied:
		return http.StatusForbidden
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	httpx.SetRetryAfter(w, code)
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // a write error means the client left
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func ptr[T any](v T) *T { return &v }

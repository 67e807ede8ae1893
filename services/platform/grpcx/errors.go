// Package grpcx is the gRPC plumbing every Tillpoint service shares: one
// interceptor chain (request id, logging, panic recovery, error mapping) used
// by the gRPC server and, through InlineConn, by grpc-gateway; internal-token
// authentication; the mapping between domain errors, gRPC statuses and the
// API's HTTP errors; and a graceful Serve.
package grpcx

import (
	"context"
	"errors"
	"net"

	"github.com/jackc/pgx/v5/pgconn"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/tillpoint/tillpoint/services/platform/errs"
	"github.com/tillpoint/tillpoint/services/platform/httpx"
)

// Domain is the errdetails.ErrorInfo domain of every error status Tillpoint
// produces. A status carrying it was made (and, if internal, logged) by one
// of our services, so its message is safe to show.
const Domain = "tillpoint"

// ErrorInfo metadata keys.
const (
	// MetaType holds the API error type (invalid_request_error, …).
	MetaType = "type"
	// MetaErrorID holds the id under which a masked internal error was logged.
	MetaErrorID = "error_id"
)

// CodeUnavailable is the error code of a dependency outage (503).
const CodeUnavailable = "unavailable"

// unavailableMessage is shown for an outage of another service.
const unavailableMessage = "A service is temporarily unavailable; please retry."

// genericInternal is shown for an internal error that has no logged id at hand.
const genericInternal = "An internal error occurred."

// kindCode is the gRPC code of each domain error kind.
func kindCode(k errs.Kind) codes.Code {
	switch k {
	case errs.Invalid, errs.IdempotencyMismatch:
		return codes.InvalidArgument
	case errs.FailedPrecondition:
		return codes.FailedPrecondition
	case errs.NotFound:
		return codes.NotFound
	case errs.Conflict:
		return codes.AlreadyExists
	case errs.IdempotencyInFlight:
		return codes.Aborted
	case errs.Unauthenticated:
		return codes.Unauthenticated
	case errs.PermissionDenied:
		return codes.PermissionDenied
	case errs.RateLimited:
		return codes.ResourceExhausted
	case errs.Unavailable:
		return codes.Unavailable
	default:
		return codes.Internal
	}
}

// ErrorStatus converts a domain error into a status with the kind's code, an
// errdetails.ErrorInfo{Reason: code, Domain: "tillpoint", Metadata: {"type":
// …}} and, when Param is set, an errdetails.BadRequest naming it. An
// Internal kind gets a generic message: the cause is never shown (the
// interceptor chain masks those itself, with a logged error id).
func ErrorStatus(e *errs.Error) *status.Status {
	_, typ := httpx.KindStatus(e.Kind)
	code, msg := e.Code, e.Message
	if e.Kind == errs.Internal {
		code, msg = httpx.CodeInternal, genericInternal
	}
	if code == "" {
		code = e.Kind.String()
	}
	if msg == "" {
		msg = e.Kind.String()
	}
	return withDetails(kindCode(e.Kind), msg, code, typ, e.Param, nil)
}

// internalStatus is the masked status of an internal error logged under id.
func internalStatus(c codes.Code, id string) *status.Status {
	return withDetails(c, httpx.InternalMessage(id), httpx.CodeInternal, httpx.TypeAPI, "",
		map[string]string{MetaErrorID: id})
}

func withDetails(c codes.Code, msg, reason, typ, param string, meta map[string]string) *status.Status {
	md := map[string]string{MetaType: typ}
	for k, v := range meta {
		md[k] = v
	}
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{Reason: reason, Domain: Domain, Metadata: md}}
	if param != "" {
		details = append(details, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
			{Field: param, Description: msg},
		}})
	}
	s := status.New(c, msg)
	if ds, err := s.WithDetails(details...); err == nil {
		return ds
	}
	return s // only codes.OK refuses details, and no error maps to OK
}

// details returns the ErrorInfo of our domain and the first BadRequest field
// of s, either of which may be missing.
func details(s *status.Status) (info *errdetails.ErrorInfo, param string) {
	for _, d := range s.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if d.GetDomain() == Domain && info == nil {
				info = d
			}
		case *errdetails.BadRequest:
			if v := d.GetFieldViolations(); len(v) > 0 && param == "" {
				param = v[0].GetField()
			}
		}
	}
	return info, param
}

// statusOf finds the status in err's chain (unchanged, unlike
// status.FromError, which rewrites the message of a wrapped status with the
// wrapper's text), maps context errors, and reports ok=false for any other
// error.
func statusOf(err error) (s *status.Status, ok bool) {
	var gs interface{ GRPCStatus() *status.Status }
	if errors.As(err, &gs) {
		if s := gs.GRPCStatus(); s != nil {
			return s, true
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return status.FromContextError(err), true
	}
	return status.New(codes.Unknown, err.Error()), false
}

// DomainError turns a status error received from another Tillpoint service
// back into a *errs.Error (Kind from the code and type, Code, Param and
// Message from the details; the status kept as the cause), so that domain
// code can use errs.KindOf and the error reaches our own callers unchanged.
// A status not made by Tillpoint becomes an Internal error (masked when it
// is returned), an outage that is not a status (a lost or refused database
// connection, even wrapped as Internal) becomes Outage(err), nil stays nil,
// and any other error is returned as is.
func DomainError(err error) error {
	if err == nil {
		return nil
	}
	s, ok := statusOf(err)
	if !ok {
		if errs.KindOf(err) == errs.Internal && Unavailable(err) {
			return Outage(err)
		}
		return err
	}
	info, param := details(s)
	if info == nil {
		if Unavailable(err) {
			// The transport's own status: the other service is down,
			// restarting or too slow. The caller may retry (503).
			return Outage(err)
		}
		return errs.Wrap(err, "call to another service failed")
	}
	typ := info.GetMetadata()[MetaType]
	return &errs.Error{Kind: kindOf(s.Code(), typ), Code: info.GetReason(), Param: param, Message: s.Message(), Err: err}
}

// kindOf inverts kindCode, using the type to tell idempotency errors apart.
func kindOf(c codes.Code, typ string) errs.Kind {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange:
		if typ == httpx.TypeIdempotency {
			return errs.IdempotencyMismatch
		}
		return errs.Invalid
	case codes.FailedPrecondition:
		return errs.FailedPrecondition
	case codes.NotFound:
		return errs.NotFound
	case codes.AlreadyExists:
		return errs.Conflict
	case codes.Aborted:
		if typ == httpx.TypeIdempotency {
			return errs.IdempotencyInFlight
		}
		return errs.Conflict
	case codes.Unauthenticated:
		return errs.Unauthenticated
	case codes.PermissionDenied:
		return errs.PermissionDenied
	case codes.ResourceExhausted:
		return errs.RateLimited
	case codes.Unavailable:
		return errs.Unavailable
	default:
		return errs.Internal
	}
}

// Outage is the domain error of a dependency's outage (err, kept as the
// cause for logs): Unavailable, code "unavailable", a message that names
// nothing internal. Edges answer it 503 with Retry-After.
func Outage(err error) *errs.Error {
	return &errs.Error{Kind: errs.Unavailable, Code: CodeUnavailable, Message: unavailableMessage, Err: err}
}

// Unavailable reports whether err means that a dependency is down or did not
// answer in time, so that retrying later may succeed: an Unavailable domain
// error, a gRPC Unavailable or DeadlineExceeded status (a peer that is
// stopped, restarting or hung), a context deadline, or a lost or refused
// PostgreSQL connection (also a server shutting down or starting up). Such
// errors are answered 503 with Retry-After, not 500: nothing is wrong with
// the request or with our code.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	if errs.KindOf(err) == errs.Unavailable {
		return true
	}
	if s, ok := statusOf(err); ok {
		switch s.Code() {
		case codes.Unavailable, codes.DeadlineExceeded:
			return true
		}
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok || pgconn.Timeout(err) {
		return true
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		// Class 08: connection exceptions; 57P01–57P03: the server is
		// shutting down, crashed, or not yet accepting connections.
		return len(pe.Code) == 5 && pe.Code[:2] == "08" || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	_, isNet := errors.AsType[net.Error](err) // a connection reset or closed mid-query
	return isNet
}

// Package errs is the small, append-only vocabulary of domain errors shared by
// every service. Stores and domain code return *Error values (wrapping their cause
// with %w); the edges map each Kind to one gRPC code and one HTTP status, once.
package errs

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

// The kinds. Append only: the numbers are not persisted, but the mapping tables
// in the edges are written against this list.
const (
	Internal            Kind = iota // a bug or an outage: masked behind an error id
	Invalid                         // bad input: 400 with the parameter named
	NotFound                        // no such object for this caller: 404
	Conflict                        // a uniqueness rule: 409
	Unauthenticated                 // missing, malformed or revoked credentials: 401
	PermissionDenied                // authenticated but not allowed: 403
	FailedPrecondition              // the object is in the wrong state: 400
	RateLimited                     // too many requests: 429
	IdempotencyMismatch             // an Idempotency-Key reused with other parameters: 400
	IdempotencyInFlight             // the first request with this key is still running: 409
	Unavailable                     // a dependency is down; retrying may help: 503
)

var kindNames = [...]string{
	Internal:            "internal",
	Invalid:             "invalid",
	NotFound:            "not_found",
	Conflict:            "conflict",
	Unauthenticated:     "unauthenticated",
	PermissionDenied:    "permission_denied",
	FailedPrecondition:  "failed_precondition",
	RateLimited:         "rate_limited",
	IdempotencyMismatch: "idempotency_mismatch",
	IdempotencyInFlight: "idempotency_in_flight",
	Unavailable:         "unavailable",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is a domain error. Code is a stable machine-readable code
// (`parameter_missing`, `resource_missing`, …), Param the offending request
// parameter, if any, and Message the text shown to the API caller.
type Error struct {
	Kind    Kind
	Code    string
	Param   string
	Message string
	Err     error // the cause, for logs; never shown to callers
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Param != "" {
		msg = e.Param + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// E builds an error of kind k with a code and a message.
func E(k Kind, code, message string) *Error {
	return &Error{Kind: k, Code: code, Message: message}
}

// Param builds an Invalid error about one request parameter.
func Param(param, code, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Code: code, Param: param, Message: fmt.Sprintf(format, args...)}
}

// Missing is the error for a required parameter that was not given.
func Missing(param string) *Error {
	return Param(param, "parameter_missing", "Missing required param: %s.", param)
}

// NotFoundf is the error for an object the caller cannot see.
func NotFoundf(param, format string, args ...any) *Error {
	return &Error{Kind: NotFound, Code: "resource_missing", Param: param, Message: fmt.Sprintf(format, args...)}
}

// Wrap marks err as an internal failure with context; the message is for logs only.
func Wrap(err error, context string) *Error {
	return &Error{Kind: Internal, Code: "internal", Message: context, Err: err}
}

// KindOf reports the kind of err: the Kind of the outermost *Error in its
// chain, or Internal for any other error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// As returns the outermost *Error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

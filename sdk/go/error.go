package tillpoint

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// Error is an API error answer: the API's one error shape plus the HTTP
// status. Use errors.As to get it from any method's error.
type Error struct {
	// HTTPStatus is the answer's status code.
	HTTPStatus int `json:"-"`
	// Type is invalid_request_error, authentication_error, permission_error,
	// idempotency_error, rate_limit_error or api_error.
	Type string `json:"type"`
	// Code is machine-readable, e.g. parameter_missing or resource_missing.
	Code string `json:"code"`
	// Param names the request parameter the error is about, when there is one.
	Param string `json:"param"`
	// Message is for the developer.
	Message string `json:"message"`
	// RetryAfter is the Retry-After header of a 429 or 503, if any.
	RetryAfter string `json:"-"`
}

func (e *Error) Error() string {
	s := fmt.Sprintf("tillpoint: %d %s", e.HTTPStatus, e.Type)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Param != "" {
		s += " (" + e.Param + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

func newError(resp *http.Response, body []byte) *Error {
	var env struct {
		Error *Error `json:"error"`
	}
	e := &Error{}
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		e = env.Error
	} else {
		e.Type = "api_error"
		e.Message = http.StatusText(resp.StatusCode)
	}
	e.HTTPStatus = resp.StatusCode
	e.RetryAfter = resp.Header.Get("Retry-After")
	return e
}

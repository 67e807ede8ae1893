package gateway

// ErrorInfo is an error as the API's one error shape describes it, for the
// foreign API surfaces that write it in their own shape.
type ErrorInfo struct {
	// Status is the HTTP status.
	Status int
	// Type, Code and Param are the error's type (invalid_request_error, …),
	// stable code and offending parameter (may be empty).
	Type, Code, Param string
	// Message is safe to show: internal errors are masked.
	Message string
}

// DescribeError maps err (a domain error, or a gRPC status from a call
// through the interceptors) as the API's error handler would.
func DescribeError(err error) ErrorInfo {
	e := toAPIError(err)
	return ErrorInfo{Status: e.status, Type: e.typ, Code: e.code, Param: e.param, Message: e.message}
}

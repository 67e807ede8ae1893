package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// StatusWriter is an http.ResponseWriter that remembers the status and the
// number of body bytes written, for logs and metrics. It supports
// http.ResponseController through Unwrap.
type StatusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

// NewStatusWriter wraps w. When w already is a *StatusWriter it is returned
// as is, so stacked middlewares share one.
func NewStatusWriter(w http.ResponseWriter) *StatusWriter {
	if sw, ok := w.(*StatusWriter); ok {
		return sw
	}
	return &StatusWriter{ResponseWriter: w}
}

// WriteHeader records the status and passes it on; 1xx informational
// responses are passed on without being recorded.
func (w *StatusWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write records an implicit 200 and counts the bytes.
func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush flushes the underlying writer when it can.
func (w *StatusWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Status returns the status written so far, 0 when nothing was written yet.
func (w *StatusWriter) Status() int { return w.status }

// Bytes returns the number of body bytes written.
func (w *StatusWriter) Bytes() int64 { return w.bytes }

// AccessLog is a middleware logging one line per request: method, path
// (without the query string, which may carry tokens), status, bytes,
// duration and — through the context, when log comes from logging.New — the
// request id. It never logs headers or bodies, where secrets travel.
func AccessLog(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := NewStatusWriter(w)
			defer func() {
				// A panic passing through is logged as the 500 that Recover
				// (outside or inside this middleware) answers, then re-raised.
				v := recover()
				status := sw.Status()
				switch {
				case v != nil && status == 0:
					status = http.StatusInternalServerError
				case status == 0:
					status = http.StatusOK // what net/http sends for an empty response
				}
				attrs := []slog.Attr{
					slog.String("method", r.Method),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Int64("bytes", sw.Bytes()),
					slog.Duration("duration", time.Since(start)),
				}
				if v != nil {
					attrs = append(attrs, slog.Bool("panic", true))
				}
				log.LogAttrs(r.Context(), slog.LevelInfo, "http request", attrs...)
				if v != nil {
					panic(v)
				}
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// Recover is a middleware turning a handler's panic into the JSON 500 of the
// API, naming an error id under which the panic and its stack are logged.
// http.ErrAbortHandler is re-panicked, as net/http expects; so is any panic
// after the response has started, which can no longer be answered cleanly
// (net/http then drops the connection, so the client sees a failure rather
// than a truncated success).
func Recover(log *slog.Logger) Middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sw := NewStatusWriter(w)
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					panic(v)
				}
				id := NewErrorID()
				log.ErrorContext(r.Context(), "panic serving request",
					"error_id", id, "panic", fmt.Sprint(v), "stack", string(debug.Stack()),
					"method", r.Method, "path", r.URL.Path)
				if sw.Status() != 0 {
					panic(http.ErrAbortHandler)
				}
				WriteError(sw, http.StatusInternalServerError, TypeAPI, CodeInternal, "", InternalMessage(id))
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

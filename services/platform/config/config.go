// Package config fills typed configuration structs from environment variables.
// A Loader collects every problem so that start-up reports all of them at once.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Loader reads variables from a lookup function (os.LookupEnv by default) and
// remembers each invalid or missing one.
type Loader struct {
	lookup func(string) (string, bool)
	errs   []error
}

// NewLoader reads from the process environment.
func NewLoader() *Loader { return &Loader{lookup: os.LookupEnv} }

// NewLoaderFrom reads from a map, for tests.
func NewLoaderFrom(env map[string]string) *Loader {
	return &Loader{lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
}

func (l *Loader) get(name string) (string, bool) {
	v, ok := l.lookup(name)
	v = strings.TrimSpace(v)
	return v, ok && v != ""
}

// Fail records a problem found by the caller's own validation.
func (l *Loader) Fail(name, format string, args ...any) {
	l.errs = append(l.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// String returns the variable or def when unset.
func (l *Loader) String(name, def string) string {
	if v, ok := l.get(name); ok {
		return v
	}
	return def
}

// Required returns the variable, recording an error when unset.
func (l *Loader) Required(name string) string {
	v, ok := l.get(name)
	if !ok {
		l.Fail(name, "required")
	}
	return v
}

// Secret is Required with a minimum length; its value never appears in errors.
func (l *Loader) Secret(name string, minLen int) string {
	v := l.Required(name)
	if v != "" && len(v) < minLen {
		l.Fail(name, "must be at least %d characters", minLen)
	}
	return v
}

// Int returns the variable as an integer within [min, max], or def when unset.
func (l *Loader) Int(name string, def, min, max int) int {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < min || n > max {
		l.Fail(name, "must be a whole number from %d to %d, got %q", min, max, v)
		return def
	}
	return n
}

// Bool returns the variable as a boolean (true/false/1/0), or def when unset.
func (l *Loader) Bool(name string, def bool) bool {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.Fail(name, "must be true or false, got %q", v)
		return def
	}
	return b
}

// Duration returns the variable as a Go duration ("15s", "5m"), or def when unset.
func (l *Loader) Duration(name string, def time.Duration) time.Duration {
	v, ok := l.get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		l.Fail(name, "must be a positive duration such as 30s, got %q", v)
		return def
	}
	return d
}

// Addr returns a listen address (host:port), or def when unset.
func (l *Loader) Addr(name, def string) string {
	v := l.String(name, def)
	if _, _, err := net.SplitHostPort(v); err != nil {
		l.Fail(name, "must be host:port, got %q", v)
	}
	return v
}

// Host returns a public hostname, optionally with a port ("api.example.com",
// "api.localhost:27801"), without scheme or path.
func (l *Loader) Host(name, def string) string {
	v := strings.ToLower(l.String(name, def))
	if v == "" {
		l.Fail(name, "required")
		return v
	}
	host := v
	if h, _, err := net.SplitHostPort(v); err == nil {
		host = h
	}
	if host == "" || strings.ContainsAny(v, "/ ?#@") {
		l.Fail(name, "must be a hostname with an optional port, such as api.example.com, got %q", v)
	}
	return v
}

// OneOf returns the variable if it is one of the allowed values, or def when unset.
func (l *Loader) OneOf(name, def string, allowed ...string) string {
	v := l.String(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	l.Fail(name, "must be one of %s, got %q", strings.Join(allowed, ", "), v)
	return def
}

// Err returns every recorded problem, or nil.
func (l *Loader) Err() error { return errors.Join(l.errs...) }

// Package config fills typed configuration structs from environment variables.
// A Loader collects every problem so that start-up reports all of them at once.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
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
	return l.checkSecret(name, l.Required(name), minLen)
}

// OptionalSecret is Secret for a variable that may be unset ("").
func (l *Loader) OptionalSecret(name string, minLen int) string {
	return l.checkSecret(name, l.String(name, ""), minLen)
}

// Secrets is a comma-separated list of secrets (unset: none), each at
// least minLen characters; no value appears in errors.
func (l *Loader) Secrets(name string, minLen int) []string {
	var out []string
	for i, v := range strings.Split(l.String(name, ""), ",") {
		switch v = strings.TrimSpace(v); {
		case v == "":
			continue
		case len(v) < minLen:
			l.Fail(name, "entry %d must be at least %d characters", i+1, minLen)
		}
		out = append(out, v)
	}
	return out
}

func (l *Loader) checkSecret(name, v string, minLen int) string {
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

// Prefixes returns a comma-separated list of CIDR networks ("10.0.0.0/8,
// fd00::/8"); a bare address is its own /32 or /128. Unset is an empty list.
func (l *Loader) Prefixes(name string) []netip.Prefix {
	v, ok := l.get(name)
	if !ok {
		return nil
	}
	var out []netip.Prefix
	for part := range strings.SplitSeq(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			a, aerr := netip.ParseAddr(part)
			if aerr != nil || a.Zone() != "" {
				l.Fail(name, "must be comma-separated CIDRs such as 10.0.0.0/8, got %q", part)
				continue
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// Rate is a token-bucket rate limit: Burst requests at once, refilled at
// PerSecond. The zero Rate means no limit.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Disabled reports whether r limits nothing.
func (r Rate) Disabled() bool { return r.PerSecond <= 0 }

// RateLimit reads a limit as two variables: NAME, a whole number of requests
// per `per` (0 disables the limit), and NAME_BURST, how many may come at
// once (at least 1; def.Burst when unset).
func (l *Loader) RateLimit(name string, per time.Duration, defN, defBurst int) Rate {
	n := l.Int(name, defN, 0, 1_000_000_000)
	burst := l.Int(name+"_BURST", defBurst, 1, 1_000_000_000)
	if n == 0 {
		return Rate{}
	}
	return Rate{PerSecond: float64(n) / per.Seconds(), Burst: burst}
}

// Err returns every recorded problem, or nil.
func (l *Loader) Err() error { return errors.Join(l.errs...) }

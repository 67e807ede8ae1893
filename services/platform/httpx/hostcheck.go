package httpx

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
)

// Service describes one service's public face: its name, its public host
// (a hostname, or host:port when the port is significant, as in the local
// dev stack) and the route prefixes it owns.
type Service struct {
	Name     string
	Host     string
	Prefixes []string
}

// Services is the table of the three public services (DESIGN §1) for the
// three configured public hosts.
func Services(adminHost, frontendHost, backendHost string) []Service {
	return []Service{
		{Name: "admin-api", Host: adminHost, Prefixes: []string{"/v1/", "/api/v1/"}},
		{Name: "checkout-runtime", Host: frontendHost, Prefixes: []string{"/checkout/"}},
		{Name: "hooks", Host: backendHost, Prefixes: []string{"/hooks/"}},
	}
}

// maxEchoLen bounds how much of the caller's Host and path is echoed back in
// a 421 message, so that the error stays small whatever the request holds.
const maxEchoLen = 200

// HostCheck returns a middleware that answers 421 Misdirected Request when a
// request was sent to the wrong place: either its path belongs to another
// service (by longest prefix in services), or its Host header is not the
// host of the service named self. The message names the host to use instead:
// the owner's when the path has one, else this service's own.
//
// A configured host with a port is compared as host:port; one without a
// port is compared by hostname alone, ignoring any port in the request.
// Comparison ignores case and a trailing dot. Paths no service owns (such as
// /healthz and /readyz) are only host-checked.
func HostCheck(self string, services []Service) (Middleware, error) {
	table := append([]Service(nil), services...) // the caller's slice may change later
	var me *Service
	for i := range table {
		s := &table[i]
		if s.Host == "" {
			return nil, fmt.Errorf("httpx: host check: service %q has no public host", s.Name)
		}
		if s.Name == self {
			me = s
		}
	}
	if me == nil {
		return nil, fmt.Errorf("httpx: host check: service %q is not in the services table", self)
	}
	want, err := parseHost(me.Host)
	if err != nil {
		return nil, fmt.Errorf("httpx: host check: service %q: %w", self, err)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			owner := ownerOf(table, r.URL.Path)
			switch {
			case owner != nil && owner.Name != self:
				misdirected(w, r, owner)
			case !want.matches(r.Host):
				misdirected(w, r, me)
			default:
				next.ServeHTTP(w, r)
			}
		})
	}, nil
}

// ownerOf returns the service owning path by longest matching prefix, or nil.
func ownerOf(services []Service, path string) *Service {
	var owner *Service
	best := 0
	for i := range services {
		for _, p := range services[i].Prefixes {
			if len(p) > best && strings.HasPrefix(path, p) {
				owner, best = &services[i], len(p)
			}
		}
	}
	return owner
}

func misdirected(w http.ResponseWriter, r *http.Request, owner *Service) {
	got := r.Host
	if got == "" {
		got = "an empty Host"
	}
	msg := fmt.Sprintf("%s %s is served by %s at %s, not at %s",
		r.Method, truncate(r.URL.Path), owner.Name, owner.Host, truncate(got))
	WriteError(w, http.StatusMisdirectedRequest, TypeInvalidRequest, "misdirected_request", "", msg)
}

func truncate(s string) string {
	if len(s) > maxEchoLen {
		return s[:maxEchoLen] + "…"
	}
	return s
}

// hostMatcher is a parsed configured host.
type hostMatcher struct {
	host     string // lower-case hostname without a trailing dot
	port     string // "" when any port matches
	withPort bool
}

func parseHost(v string) (hostMatcher, error) {
	if strings.ContainsAny(v, "/ \t") {
		return hostMatcher{}, fmt.Errorf("invalid host %q", v)
	}
	if h, p, err := net.SplitHostPort(v); err == nil {
		if h == "" || p == "" {
			return hostMatcher{}, fmt.Errorf("invalid host %q", v)
		}
		return hostMatcher{host: normalise(h), port: p, withPort: true}, nil
	}
	h := strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	if h == "" {
		return hostMatcher{}, errors.New("empty host")
	}
	return hostMatcher{host: normalise(h)}, nil
}

func (m hostMatcher) matches(requestHost string) bool {
	h, p := splitRequestHost(requestHost)
	if normalise(h) != m.host {
		return false
	}
	return !m.withPort || p == m.port
}

// splitRequestHost splits a Host header into hostname and port ("" if none),
// unwrapping bracketed IPv6 literals.
func splitRequestHost(v string) (host, port string) {
	if h, p, err := net.SplitHostPort(v); err == nil {
		return h, p
	}
	return strings.TrimSuffix(strings.TrimPrefix(v, "["), "]"), ""
}

func normalise(h string) string {
	return strings.ToLower(strings.TrimSuffix(h, "."))
}

package config

import (
	"net/netip"
	"time"
)

// Common is the configuration every service shares: the three public
// hostnames, its listeners, its backing services and its secrets.
type Common struct {
	// AdminBackendDomain serves the merchant API (admin-api), e.g. api.example.com.
	AdminBackendDomain string
	// MainFrontendDomain serves the hosted checkout page (checkout-runtime).
	MainFrontendDomain string
	// MainBackendDomain serves provider callbacks (hooks).
	MainBackendDomain string
	// PublicScheme is the scheme of the public URLs we print ("https", or "http"
	// for local development).
	PublicScheme string

	// HTTPAddr is the public HTTP listener.
	HTTPAddr string
	// InternalGRPCAddr is the service-to-service gRPC listener; never exposed
	// on the public hostnames.
	InternalGRPCAddr string
	// MetricsAddr serves /metrics, /healthz and /readyz for the orchestrator.
	MetricsAddr string

	// DatabaseURL is the PostgreSQL connection string.
	DatabaseURL string
	// NATSURL is the NATS JetStream server.
	NATSURL string
	// InternalToken authenticates internal gRPC calls between services: it
	// is the token sent, and one accepted.
	InternalToken string
	// InternalTokensAccepted are more tokens accepted, never sent
	// (INTERNAL_TOKENS_ACCEPTED, comma-separated): the old or the next
	// token while it is rotated without downtime (docs/operations.md).
	InternalTokensAccepted []string

	// TrustedProxies are the networks of the reverse proxies in front of the
	// service (TRUSTED_PROXIES): only from them are X-Forwarded-For and
	// Forwarded believed. Empty (the default) trusts no one: the client is
	// the TCP peer.
	TrustedProxies []netip.Prefix

	// LogLevel is debug, info, warn or error.
	LogLevel string
	// ShutdownTimeout bounds how long in-flight requests may take after SIGTERM.
	ShutdownTimeout time.Duration
}

// Listeners are a service's default listen addresses.
type Listeners struct {
	HTTP, InternalGRPC, Metrics string
}

// minTokenLen: 32 characters of a random token carry well over 128 bits.
const minTokenLen = 32

// LoadCommon reads the shared variables with the service's default listeners.
func LoadCommon(l *Loader, def Listeners) Common {
	c := Common{
		AdminBackendDomain:     l.Host("ADMIN_BACKEND_DOMAIN", ""),
		MainFrontendDomain:     l.Host("MAIN_FRONTEND_DOMAIN", ""),
		MainBackendDomain:      l.Host("MAIN_BACKEND_DOMAIN", ""),
		PublicScheme:           l.OneOf("PUBLIC_SCHEME", "https", "https", "http"),
		HTTPAddr:               l.Addr("HTTP_ADDR", def.HTTP),
		InternalGRPCAddr:       l.Addr("INTERNAL_GRPC_ADDR", def.InternalGRPC),
		MetricsAddr:            l.Addr("METRICS_ADDR", def.Metrics),
		DatabaseURL:            l.Required("DATABASE_URL"),
		NATSURL:                l.Required("NATS_URL"),
		InternalToken:          l.Secret("INTERNAL_TOKEN", minTokenLen),
		InternalTokensAccepted: l.Secrets("INTERNAL_TOKENS_ACCEPTED", minTokenLen),
		TrustedProxies:         l.Prefixes("TRUSTED_PROXIES"),
		LogLevel:               l.OneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		ShutdownTimeout:        l.Duration("SHUTDOWN_TIMEOUT", 20*time.Second),
	}
	hosts := map[string]string{}
	for name, h := range map[string]string{
		"ADMIN_BACKEND_DOMAIN": c.AdminBackendDomain,
		"MAIN_FRONTEND_DOMAIN": c.MainFrontendDomain,
		"MAIN_BACKEND_DOMAIN":  c.MainBackendDomain,
	} {
		if other, dup := hosts[h]; dup && h != "" {
			l.Fail(name, "must differ from %s: each service has its own hostname", other)
		}
		hosts[h] = name
	}
	return c
}

// InternalTokens are the internal tokens accepted: InternalToken first.
func (c Common) InternalTokens() []string {
	return append([]string{c.InternalToken}, c.InternalTokensAccepted...)
}

// PublicURL returns scheme://host for one of the public hostnames.
func (c Common) PublicURL(host string) string {
	return c.PublicScheme + "://" + host
}

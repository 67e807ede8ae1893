package config

import (
	"strings"
	"testing"
	"time"
)

func validEnv() map[string]string {
	return map[string]string{
		"ADMIN_BACKEND_DOMAIN": "api.example.com",
		"MAIN_FRONTEND_DOMAIN": "secure.example.com",
		"MAIN_BACKEND_DOMAIN":  "webhook.example.com:8443",
		"DATABASE_URL":         "postgres://u:p@db/tillpoint",
		"NATS_URL":             "nats://nats:4222",
		"INTERNAL_TOKEN":       strings.Repeat("x", 40),
	}
}

func TestLoadCommonValid(t *testing.T) {
	l := NewLoaderFrom(validEnv())
	c := LoadCommon(l, Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"})
	if err := l.Err(); err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	if c.PublicScheme != "https" || c.HTTPAddr != ":8080" || c.ShutdownTimeout != 20*time.Second {
		t.Fatalf("defaults not applied: %+v", c)
	}
	if got := c.PublicURL(c.MainFrontendDomain); got != "https://secure.example.com" {
		t.Fatalf("PublicURL = %q", got)
	}
}

func TestLoadCommonReportsEveryProblem(t *testing.T) {
	env := validEnv()
	delete(env, "DATABASE_URL")
	env["INTERNAL_TOKEN"] = "short"
	env["MAIN_BACKEND_DOMAIN"] = "api.example.com"
	env["HTTP_ADDR"] = "8080"
	env["LOG_LEVEL"] = "loud"
	env["SHUTDOWN_TIMEOUT"] = "soon"
	l := NewLoaderFrom(env)
	LoadCommon(l, Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"})
	err := l.Err()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"DATABASE_URL: required", "INTERNAL_TOKEN: must be at least", "must differ from", "HTTP_ADDR", "LOG_LEVEL", "SHUTDOWN_TIMEOUT"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "short") {
		t.Errorf("error leaks the secret value: %v", err)
	}
}

func TestHostRejectsURLs(t *testing.T) {
	l := NewLoaderFrom(map[string]string{"H": "https://api.example.com/"})
	l.Host("H", "")
	if l.Err() == nil {
		t.Fatal("a URL must not be accepted as a hostname")
	}
}

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

func TestTrustedProxies(t *testing.T) {
	env := validEnv()
	c := LoadCommon(NewLoaderFrom(env), Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"})
	if len(c.TrustedProxies) != 0 {
		t.Fatalf("default must trust no one, got %v", c.TrustedProxies)
	}

	env["TRUSTED_PROXIES"] = " 10.244.0.0/16, 192.0.2.7 ,fd00::/8,2001:db8::1, ::ffff:198.51.100.0/120, 10.1.2.3/8 "
	l := NewLoaderFrom(env)
	c = LoadCommon(l, Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"})
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.TrustedProxies {
		got = append(got, p.String())
	}
	want := "10.244.0.0/16 192.0.2.7/32 fd00::/8 2001:db8::1/128 198.51.100.0/24 10.0.0.0/8"
	if strings.Join(got, " ") != want {
		t.Fatalf("TRUSTED_PROXIES = %v, want %s", got, want)
	}

	for _, bad := range []string{"10.0.0.0/33", "proxy.internal", "10.0.0.0/8;10.1.0.0/16", "fe80::1%eth0"} {
		env["TRUSTED_PROXIES"] = bad
		l := NewLoaderFrom(env)
		LoadCommon(l, Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"})
		if err := l.Err(); err == nil || !strings.Contains(err.Error(), "TRUSTED_PROXIES") {
			t.Errorf("TRUSTED_PROXIES=%q: error %v", bad, err)
		}
	}
}

func TestRateLimit(t *testing.T) {
	l := NewLoaderFrom(map[string]string{"W": "100", "W_BURST": "200", "A": "60", "OFF": "0", "BAD": "-1", "BADB_BURST": "0"})
	if r := l.RateLimit("W", time.Second, 1, 1); r.PerSecond != 100 || r.Burst != 200 || r.Disabled() {
		t.Errorf("W = %+v", r)
	}
	if r := l.RateLimit("A", time.Minute, 1, 30); r.PerSecond != 1 || r.Burst != 30 {
		t.Errorf("A = %+v", r)
	}
	if r := l.RateLimit("UNSET", time.Second, 5, 10); r.PerSecond != 5 || r.Burst != 10 {
		t.Errorf("UNSET = %+v", r)
	}
	if r := l.RateLimit("OFF", time.Second, 5, 10); !r.Disabled() {
		t.Errorf("OFF = %+v", r)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	l.RateLimit("BAD", time.Second, 5, 10)
	l.RateLimit("BADB", time.Second, 5, 10)
	if err := l.Err(); err == nil || !strings.Contains(err.Error(), "BAD:") || !strings.Contains(err.Error(), "BADB_BURST") {
		t.Fatalf("want errors for BAD and BADB_BURST, got %v", err)
	}
}

// TestInternalTokensAccepted: INTERNAL_TOKENS_ACCEPTED adds tokens to
// INTERNAL_TOKEN's (which stays the one sent, first); a short entry is
// refused without its value in the error.
func TestInternalTokensAccepted(t *testing.T) {
	env := validEnv()
	current, previous := env["INTERNAL_TOKEN"], strings.Repeat("p", 40)
	env["INTERNAL_TOKENS_ACCEPTED"] = " " + previous + " ,"
	l := NewLoaderFrom(env)
	c := LoadCommon(l, Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"})
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.InternalTokens(), ","); got != current+","+previous {
		t.Fatalf("InternalTokens() = %q", got)
	}
	delete(env, "INTERNAL_TOKENS_ACCEPTED")
	if c := LoadCommon(NewLoaderFrom(env), Listeners{}); len(c.InternalTokens()) != 1 {
		t.Fatalf("without INTERNAL_TOKENS_ACCEPTED: %d tokens", len(c.InternalTokens()))
	}
	env["INTERNAL_TOKENS_ACCEPTED"] = previous + ",tooShortToken"
	l = NewLoaderFrom(env)
	LoadCommon(l, Listeners{HTTP: ":8080", InternalGRPC: ":9090", Metrics: ":9100"})
	err := l.Err()
	if err == nil || !strings.Contains(err.Error(), "INTERNAL_TOKENS_ACCEPTED: entry 2 must be at least") {
		t.Fatalf("short accepted token: %v", err)
	}
	if strings.Contains(err.Error(), "tooShort") || strings.Contains(err.Error(), previous) {
		t.Errorf("error leaks a token: %v", err)
	}
}

package main

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/config"
)

func TestLoadLimits(t *testing.T) {
	l := config.NewLoaderFrom(nil)
	c := loadLimits(l)
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	if c.WritesPerKey != (config.Rate{PerSecond: 100, Burst: 200}) || c.AuthFailuresPerAddr != (config.Rate{PerSecond: 1, Burst: 60}) ||
		c.WritesPerAddr.Disabled() || c.ReadsPerKey.Disabled() {
		t.Fatalf("defaults: %+v", c)
	}

	l = config.NewLoaderFrom(map[string]string{"API_RATE_LIMIT_WRITES_PER_KEY": "0", "API_RATE_LIMIT_AUTH_FAILURES_PER_ADDR": "30",
		"API_RATE_LIMIT_AUTH_FAILURES_PER_ADDR_BURST": "5", "API_RATE_LIMIT_READS_PER_KEY": "many"})
	c = loadLimits(l)
	if err := l.Err(); err == nil {
		t.Fatal("API_RATE_LIMIT_READS_PER_KEY=many must be refused")
	}
	if !c.WritesPerKey.Disabled() || c.AuthFailuresPerAddr != (config.Rate{PerSecond: 0.5, Burst: 5}) {
		t.Fatalf("set: %+v", c)
	}
}

func TestLoadKeys(t *testing.T) {
	good := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	for name, c := range map[string]struct {
		env map[string]string
		ok  bool
	}{
		"unset":      {nil, false},
		"empty":      {map[string]string{"TILLPOINT_ENCRYPTION_KEY": " "}, false},
		"one key":    {map[string]string{"TILLPOINT_ENCRYPTION_KEY": good}, true},
		"short key":  {map[string]string{"TILLPOINT_ENCRYPTION_KEY": "k1:c2VjcmV0LXNlY3JldA=="}, false},
		"no id":      {map[string]string{"TILLPOINT_ENCRYPTION_KEY": strings.TrimPrefix(good, "k1:")}, false},
		"not base64": {map[string]string{"TILLPOINT_ENCRYPTION_KEY": "k1:s3cr3t-s3cr3t-s3cr3t!"}, false},
	} {
		t.Run(name, func(t *testing.T) {
			l := config.NewLoaderFrom(c.env)
			keys := loadKeys(l)
			err := l.Err()
			if c.ok != (err == nil) || c.ok != (keys != nil) {
				t.Fatalf("keys %v, err %v", keys, err)
			}
			if err == nil {
				return
			}
			msg := err.Error()
			if !strings.Contains(msg, "TILLPOINT_ENCRYPTION_KEY") {
				t.Fatalf("error does not name the variable: %v", err)
			}
			for _, secret := range []string{"s3cr3t", "c2VjcmV0", strings.TrimPrefix(good, "k1:")[:12]} {
				if strings.Contains(msg, secret) {
					t.Fatalf("error shows the key: %v", err)
				}
			}
		})
	}
}

func TestLoadStripeAPIBase(t *testing.T) {
	l := config.NewLoaderFrom(nil)
	if v := loadBaseURL(l, "STRIPE_API_BASE", "https://api.stripe.com"); v != "https://api.stripe.com" || l.Err() != nil {
		t.Fatalf("default: %q %v", v, l.Err())
	}
	l = config.NewLoaderFrom(map[string]string{"STRIPE_API_BASE": "http://127.0.0.1:12111/"})
	if v := loadBaseURL(l, "STRIPE_API_BASE", "https://api.stripe.com"); v != "http://127.0.0.1:12111" || l.Err() != nil {
		t.Fatalf("set: %q %v", v, l.Err())
	}
	l = config.NewLoaderFrom(map[string]string{"STRIPE_API_BASE": "api.stripe.com"})
	if loadBaseURL(l, "STRIPE_API_BASE", "https://api.stripe.com"); l.Err() == nil {
		t.Fatal("a URL without scheme accepted")
	}
}

package main

import (
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

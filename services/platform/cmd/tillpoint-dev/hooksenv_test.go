package main

import (
	"strings"
	"testing"
)

// TestHooksReachesAdminInternal: hooks asks admin-api's internal listener for
// a provider account's webhook secret (Stripe callbacks), so its
// ADMIN_INTERNAL_ADDR must be admin-api's INTERNAL_GRPC_ADDR.
func TestHooksReachesAdminInternal(t *testing.T) {
	env := serviceEnv(ports{27800}, "postgres://x@127.0.0.1:1/x", "nats://127.0.0.1:2", secrets{})
	get := func(set []string, key string) string {
		v := ""
		for _, kv := range set { // the last one wins, as in a process environment
			if k, val, _ := strings.Cut(kv, "="); k == key {
				v = val
			}
		}
		return v
	}
	admin := get(env.admin, "INTERNAL_GRPC_ADDR")
	if got := get(env.hooks, "ADMIN_INTERNAL_ADDR"); admin == "" || got != admin {
		t.Errorf("hooks ADMIN_INTERNAL_ADDR = %q, admin-api listens on %q", got, admin)
	}
}

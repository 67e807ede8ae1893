package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/config"
	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

// TestStackDeniesItsOwnListeners: the policy the services load from the
// dev stack's environment lets test-mode targets be on this machine, but
// refuses every listener of the stack, by any local name.
func TestStackDeniesItsOwnListeners(t *testing.T) {
	p := ports{27800}
	env := serviceEnv(p, "postgres://tillpoint@127.0.0.1:27832/tillpoint?sslmode=disable", "nats://127.0.0.1:27842", secrets{})
	for name, set := range map[string][]string{"admin-api": env.admin, "hooks": env.hooks} {
		vars := map[string]string{}
		for _, kv := range set {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
		l := config.NewLoaderFrom(vars)
		policy := webhook.LoadTargetPolicy(l)
		if err := l.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := policy.CheckURL("http://localhost:8000/webhooks", "org_1", false); err != nil {
			t.Errorf("%s: a merchant's test server on localhost is refused: %v", name, err)
		}
		if err := policy.CheckURL("https://127.0.0.1/webhooks", "org_1", true); err == nil {
			t.Errorf("%s: live mode may reach loopback", name)
		}
		for _, off := range append(append([]int{}, serviceOffsets...), offPostgres, offNATS) {
			port := strconv.Itoa(p.at(off))
			for _, host := range []string{"127.0.0.1", "localhost", "127.0.0.2", "0.0.0.0", "[::1]"} {
				if err := policy.CheckURL("http://"+host+":"+port+"/metrics", "org_1", false); err == nil {
					t.Errorf("%s: http://%s:%s is one of the stack's listeners but is accepted", name, host, port)
				}
			}
		}
	}
}

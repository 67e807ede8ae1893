package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// runStripeNode runs node/stripe_sdk.test.mjs (Stripe's Node SDK against
// the stack) with node's test runner; extraEnv adds to its environment.
// `make node-deps` installs the SDK into node/node_modules (make test does).
func runStripeNode(t *testing.T, extraEnv ...string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join("node", "node_modules", "stripe", "package.json")); err != nil {
		t.Fatalf("Stripe's Node SDK is not installed: run `make node-deps` (%v)", err)
	}
	cmd := exec.Command("node", "--test", "stripe_sdk.test.mjs")
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), append([]string{"TILLPOINT_ADMIN_API_URL=" + sys.AdminAPIURL, "TILLPOINT_SECRET_KEY=" + sys.SecretKey}, extraEnv...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// TestStripeNodeSDK: Stripe's Node SDK creates, retrieves, lists and
// expires sessions, gets Stripe-shaped errors, and verifies a real
// Stripe-format delivery with stripe.webhooks.constructEvent.
func TestStripeNodeSDK(t *testing.T) {
	body, signature, secret, cs := stripeDelivery(t)
	event, err := json.Marshal(map[string]string{"payload": string(body), "header": signature, "secret": secret, "session": cs.ID})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(file, event, 0o600); err != nil {
		t.Fatal(err)
	}
	runStripeNode(t, "TILLPOINT_STRIPE_EVENT="+file)
}

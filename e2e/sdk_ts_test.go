package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/provider"
)

// TestTypeScriptSDK runs node/tillpoint_sdk.test.mjs: @tillpoint/node
// (sdk/ts, compiled by `make node-deps`) creates, retrieves, lists with
// auto-pagination and expires sessions, gets typed errors, refunds a
// session it paid on the hosted page, and verifies the delivery its own
// endpoint received with webhooks.constructEvent.
func TestTypeScriptSDK(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "sdk", "ts", "dist", "index.js")); err != nil {
		t.Fatalf("@tillpoint/node is not compiled: run `make node-deps` (%v)", err)
	}
	cmd := exec.Command("node", "--test", "tillpoint_sdk.test.mjs")
	cmd.Dir = "node"
	cmd.Env = append(os.Environ(), "TILLPOINT_ADMIN_API_URL="+sys.AdminAPIURL, "TILLPOINT_SECRET_KEY="+sys.SecretKey,
		"TILLPOINT_TEST_CARD="+provider.TestCardSuccess)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/freeport"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// stripeMockURL is the stripe-mock the stack's STRIPE_API_BASE points at.
var stripeMockURL string

// startStripeMock builds stripe-mock from the version pinned in
// tools/stripe-mock and runs it on a free loopback port, as
// testkit.StripeMock does for package tests (which needs testkit.Main,
// and this package's TestMain runs the stack instead).
func startStripeMock(dir, root string) (stop func(), err error) {
	bin := filepath.Join(dir, "stripe-mock")
	build := exec.Command("go", "build", "-o", bin, "github.com/stripe/stripe-mock")
	build.Dir = filepath.Join(root, "tools", "stripe-mock")
	build.Env = append(os.Environ(), "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build stripe-mock: %v\n%s", err, out)
	}
	port, err := freeport.Block(2)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// Its HTTPS listener too, or it takes the fixed default port 12112,
	// which another stripe-mock on this machine may hold.
	cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:"+strconv.Itoa(port+1))
	logs, err := os.Create(filepath.Join(dir, "stripe-mock.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stop = func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	base := "http://" + addr
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/balance", nil)
		req.Header.Set("Authorization", "Bearer "+testkit.StripeMockKey)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				stripeMockURL = base
				return stop, nil
			}
		}
		if time.Now().After(deadline) {
			stop()
			b, _ := os.ReadFile(logs.Name())
			return nil, fmt.Errorf("stripe-mock not answering on %s:\n%s", addr, b)
		}
		time.Sleep(20 * time.Millisecond) // polling a process start, not synchronising tests
	}
}

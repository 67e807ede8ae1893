package process

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv makes the test binary an HTTP server (a multi-threaded Go
// process, like the stack's services) that prints its address.
const childEnv = "PROCESS_TEST_SERVER"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println(ln.Addr())
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
		return
	}
	os.Exit(m.Run())
}

// TestStopReturnsOnceStopped: right after Stop returns, a server answers
// nothing, round after round, until it is sent SIGCONT. With a bare
// kill(SIGSTOP) this fails on a loaded machine (the server still answered
// in about one round in five on a 2-core machine at load 20).
func TestStopReturnsOnceStopped(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGCONT)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + strings.TrimSpace(addr)
	running := &http.Client{Timeout: 10 * time.Second}
	// A stopped server never answers; a running one answers in far less,
	// even on a loaded machine.
	stopped := &http.Client{Timeout: 100 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	for round := range 30 {
		resp, err := running.Get(u)
		if err != nil {
			t.Fatalf("round %d: the running server: %v", round, err)
		}
		resp.Body.Close()
		if err := Stop(pid, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if resp, err := stopped.Get(u); err == nil {
			resp.Body.Close()
			t.Fatalf("round %d: the server answered after Stop returned", round)
		}
		if ok, err := Stopped(pid); !ok || err != nil {
			t.Fatalf("round %d: Stopped = %v, %v after Stop", round, ok, err)
		}
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := Stopped(pid); ok || err != nil {
		t.Errorf("Stopped = %v, %v after SIGCONT", ok, err)
	}
}

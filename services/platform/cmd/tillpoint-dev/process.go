package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// stopTimeout is how long a service gets to finish in-flight work after SIGTERM
// before it is killed; above the services' own shutdown timeout.
const stopTimeout = 30 * time.Second

type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// sysProcAttr puts a child in its own process group, so that a terminal's
// Ctrl-C reaches only us and we stop the children in order, and asks the
// kernel to stop the child if we die without doing so.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// runOnce runs `bin/svc args…` to completion and returns its standard output.
func runOnce(ctx context.Context, binDir, svc string, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, svc), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %v: %w\n%s", svc, args, err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// startService starts `bin/svc serve`, copying its log lines to w with the
// service name in front, and reports its exit on exited.
func startService(binDir, svc string, env []string, w io.Writer, exited chan<- error) (*process, error) {
	cmd := exec.Command(filepath.Join(binDir, svc), "serve")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = sysProcAttr()
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", svc, err)
	}
	p := &process{name: svc, cmd: cmd, done: make(chan struct{})}
	go prefixLines(pr, w, svc)
	go func() {
		err := cmd.Wait()
		pw.Close()
		close(p.done)
		exited <- fmt.Errorf("%s exited: %v", svc, err)
	}()
	return p, nil
}

var outputMu sync.Mutex

func prefixLines(r io.Reader, w io.Writer, name string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		outputMu.Lock()
		fmt.Fprintf(w, "%-16s | %s\n", name, sc.Bytes())
		outputMu.Unlock()
	}
}

// stopAll sends SIGTERM to every service, waits for them, and kills any that
// outlive stopTimeout.
func stopAll(procs []*process, logger *slog.Logger) {
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	for _, p := range procs {
		select {
		case <-p.done:
		case <-ctx.Done():
			logger.Error("service did not stop in time; killing it", "service", p.name)
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

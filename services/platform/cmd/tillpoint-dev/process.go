package main

import (
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

// Supervision: a service that dies is started again, as an orchestrator
// would, so that the stack survives a crash (and crash tests can kill one).
// One that keeps dying right after its start stops the stack instead.
const (
	restartDelay  = 500 * time.Millisecond
	quickExit     = 5 * time.Second // an exit this soon after a start is a failed start
	maxQuickExits = 5
)

// supervisor runs one service, restarting it when it dies.
type supervisor struct {
	binDir, name string
	env          []string
	out          io.Writer
	logger       *slog.Logger

	mu       sync.Mutex
	proc     *process
	stopping bool
	stopped  chan struct{} // closed when the supervisor has finished
}

// superviseService starts `bin/svc serve` and keeps it running; failed gets
// an error when the service cannot stay up.
func superviseService(binDir, svc string, env []string, out io.Writer, logger *slog.Logger, failed chan<- error) (*supervisor, error) {
	s := &supervisor{binDir: binDir, name: svc, env: env, out: out, logger: logger, stopped: make(chan struct{})}
	p, err := s.start()
	if err != nil {
		return nil, err
	}
	go s.watch(p, failed)
	return s, nil
}

func (s *supervisor) start() (*process, error) {
	cmd := exec.Command(filepath.Join(s.binDir, s.name), "serve")
	cmd.Env = append(os.Environ(), s.env...)
	cmd.SysProcAttr = sysProcAttr()
	// The service writes straight into a pipe that prefixLines reads: no
	// copying goroutine in between.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	err = cmd.Start()
	pw.Close() // the service holds its own copy; EOF comes when it exits
	if err != nil {
		pr.Close()
		return nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	p := &process{name: s.name, cmd: cmd, done: make(chan struct{})}
	go prefixLines(pr, s.out, s.name)
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return p, nil
}

func (s *supervisor) watch(p *process, failed chan<- error) {
	defer close(s.stopped)
	quick := 0
	for {
		started := time.Now()
		<-p.done
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		if time.Since(started) < quickExit {
			quick++
		} else {
			quick = 0
		}
		if quick >= maxQuickExits {
			failed <- fmt.Errorf("%s keeps exiting right after it starts (%v)", s.name, p.cmd.ProcessState)
			return
		}
		s.logger.Warn("service exited; restarting it", "service", s.name, "status", p.cmd.ProcessState.String())
		time.Sleep(restartDelay)
		var err error
		if p, err = s.start(); err != nil {
			failed <- err
			return
		}
	}
}

// stop sends SIGTERM and waits; past stopTimeout the service is killed.
func (s *supervisor) stop(ctx context.Context) {
	s.mu.Lock()
	s.stopping = true
	p := s.proc
	s.mu.Unlock()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-ctx.Done():
		s.logger.Error("service did not stop in time; killing it", "service", s.name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	<-s.stopped
}

var outputMu sync.Mutex

// maxLine is where prefixLines cuts a line that has no end yet.
const maxLine = 1 << 20

// prefixLines copies r to w, starting each line with the service's name. It
// writes whatever one read brought in one write, so that a busy service's
// lines cost a few system calls per batch rather than one each.
func prefixLines(r io.ReadCloser, w io.Writer, name string) {
	defer r.Close()
	prefix := fmt.Sprintf("%-16s | ", name)
	buf := make([]byte, 64<<10)
	var out, partial []byte
	for {
		n, err := r.Read(buf)
		chunk := buf[:n]
		for len(chunk) > 0 {
			i := bytes.IndexByte(chunk, '\n')
			if i < 0 && len(partial)+len(chunk) < maxLine {
				partial = append(partial, chunk...)
				break
			}
			if i < 0 {
				i = len(chunk) - 1 // too long: cut it here
			}
			out = append(append(append(out, prefix...), partial...), chunk[:i+1]...)
			if out[len(out)-1] != '\n' {
				out = append(out, '\n')
			}
			partial, chunk = partial[:0], chunk[i+1:]
		}
		if err != nil && len(partial) > 0 {
			out = append(append(append(out, prefix...), partial...), '\n')
		}
		if len(out) > 0 {
			outputMu.Lock()
			_, _ = w.Write(out)
			outputMu.Unlock()
			out = out[:0]
		}
		if err != nil {
			return
		}
	}
}

// stopAll stops every service, giving each stopTimeout to finish its work.
func stopAll(sups []*supervisor) {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, s := range sups {
		wg.Add(1)
		go func() { defer wg.Done(); s.stop(ctx) }()
	}
	wg.Wait()
}

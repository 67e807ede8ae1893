// Package process pauses a process for the end-to-end tests, and tells when
// the pause has taken effect.
//
// kill(2) with SIGSTOP returns as soon as the signal is queued, not when the
// process has stopped: the kernel wakes one thread to take the signal, and
// the other threads stop only once that thread has run and told them to.
// Until then they go on running. On a loaded machine that is long enough to
// answer a request: on a 2-core machine at load 20, an HTTP server sent
// SIGSTOP answered a request made right after kill returned in about one
// round in five. A test that pauses a service to see how its callers fare
// must therefore wait until every thread is stopped, which the kernel shows
// in /proc/<pid>/task/<tid>/stat (state T). SIGCONT needs no such wait: the
// kernel makes the stopped threads runnable within the kill call itself.
package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pollInterval is how often Stop looks at the threads' states: a stop takes
// effect within milliseconds, even on a loaded machine.
const pollInterval = time.Millisecond

// Stop sends SIGSTOP to pid and returns once every thread of the process
// has stopped, or an error when that has not happened within the given time.
func Stop(pid int, within time.Duration) error {
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("stop %d: %w", pid, err)
	}
	deadline := time.Now().Add(within)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		stopped, err := Stopped(pid)
		if err != nil || stopped {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("process %d did not stop within %v", pid, within)
		}
		<-tick.C
	}
}

// Stopped reports whether no thread of pid can run: each is stopped by a
// signal (state T), or has exited.
func Stopped(pid int) (bool, error) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return false, fmt.Errorf("threads of %d: %w", pid, err)
	}
	for _, task := range tasks {
		stat, err := os.ReadFile(filepath.Join(dir, task.Name(), "stat"))
		if errors.Is(err, fs.ErrNotExist) {
			continue // the thread has exited since the listing
		} else if err != nil {
			return false, err
		}
		// "tid (comm) state …": comm may itself hold ") ", so the state
		// is found after the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) {
			return false, fmt.Errorf("thread %s of %d: unexpected stat %q", task.Name(), pid, stat)
		}
		switch stat[i+2] {
		case 'T', 'Z', 'X': // stopped, or exited
		default:
			return false, nil
		}
	}
	return true, nil
}

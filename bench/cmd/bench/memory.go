package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// peakRSS returns VmHWM in kB of every process whose binary lives in binDir,
// by binary name, read from /proc/<pid>/status.
func peakRSS(binDir string) map[string]int64 {
	out := map[string]int64{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(cmdline) == 0 {
			continue
		}
		argv0 := string(bytes.SplitN(cmdline, []byte{0}, 2)[0])
		if filepath.Dir(argv0) != filepath.Clean(binDir) {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				name := filepath.Base(argv0)
				out[name] = max(out[name], kb)
			}
		}
	}
	return out
}

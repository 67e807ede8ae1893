package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat
// (100 on every Linux the stack runs on).
const clockTicks = 100

// cpuSample is the CPU time used so far by each process of interest, by
// pid, with the group it counts in.
type cpuSample struct {
	at    time.Time
	ticks map[string]int64  // by pid
	group map[string]string // pid → process group
}

// sampleCPU reads utime+stime of the stack's services (by binary path),
// PostgreSQL (all its processes) and this process. A process that exited
// between two samples drops out (its last interval is not counted), so
// short-lived PostgreSQL backends are undercounted; the pools keep theirs
// open.
func sampleCPU(binDir string) cpuSample {
	s := cpuSample{at: time.Now(), ticks: map[string]int64{}, group: map[string]string{}}
	self := strconv.Itoa(os.Getpid())
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
		var name string
		switch {
		case e.Name() == self:
			name = "bench client"
		case filepath.Dir(argv0) == filepath.Clean(binDir):
			name = filepath.Base(argv0)
		case strings.HasPrefix(argv0, "postgres") || filepath.Base(argv0) == "postgres":
			name = "postgres"
		default:
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the ")" that closes comm: state is field 3, utime 14, stime 15.
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		s.ticks[e.Name()] = ut + st
		s.group[e.Name()] = name
	}
	return s
}

// cpuTally adds up the CPU each process group used over one or more
// measurements of one kind.
type cpuTally struct {
	secs  float64
	ticks map[string]int64
}

// add counts what was used between samples a and b.
func (t *cpuTally) add(a, b cpuSample) {
	if t.ticks == nil {
		t.ticks = map[string]int64{}
	}
	t.secs += b.at.Sub(a.at).Seconds()
	// Per process: a backend that exited meanwhile would otherwise take
	// its whole past CPU time off its group (a negative figure), and one
	// started meanwhile counts from zero.
	for pid, v := range b.ticks {
		if a.group[pid] == b.group[pid] {
			v -= a.ticks[pid]
		}
		t.ticks[b.group[pid]] += v
	}
}

// perOp is the CPU time of all process groups per operation, in ms, when
// ops operations were made over the tally's time, the part of it each
// group took, and the cores used in all.
func (t *cpuTally) perOp(ops int) (ms float64, parts string, cores float64) {
	var total int64
	var each []string
	for _, n := range slices.Sorted(maps.Keys(t.ticks)) {
		total += t.ticks[n]
		if ms := float64(t.ticks[n]) / clockTicks * 1000 / float64(ops); ms >= 0.01 {
			each = append(each, fmt.Sprintf("%s %.2f", n, ms))
		}
	}
	secs := float64(total) / clockTicks
	return secs * 1000 / float64(ops), strings.Join(each, ", "), secs / t.secs
}

// note says how many cores each process group used, on average.
func (t *cpuTally) note(what string) string {
	names := slices.Sorted(maps.Keys(t.ticks))
	var parts []string
	for _, n := range names {
		if cores := float64(t.ticks[n]) / clockTicks / t.secs; cores >= 0.05 {
			parts = append(parts, fmt.Sprintf("%s %.2f", n, cores))
		}
	}
	return fmt.Sprintf("CPU cores used during %s: %s.", what, strings.Join(parts, ", "))
}

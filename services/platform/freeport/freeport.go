// Package freeport finds free loopback ports for stacks started by tests and
// benchmarks.
package freeport

import (
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
)

// Blocks are chosen between lowest and ephemeral: below Linux's ephemeral
// range (32768–60999), where the machine's own outgoing connections would
// now and then take a port between the check and its use.
const (
	lowest    = 10000
	ephemeral = 32768
	tries     = 100
)

// Block returns the first of n consecutive loopback ports that were all
// free when it looked.
func Block(n int) (int, error) {
	for range tries {
		base := lowest + rand.IntN(ephemeral-lowest-n)
		if blockFree(base, n) {
			return base, nil
		}
	}
	return 0, errors.New("freeport: no free block of " + strconv.Itoa(n) + " loopback ports")
}

func blockFree(base, n int) bool {
	for off := range n {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+off))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestBlock(t *testing.T) {
	base, err := Block(50)
	if err != nil {
		t.Fatal(err)
	}
	if base < lowest || base+50 > ephemeral {
		t.Fatalf("block %d–%d is outside %d–%d", base, base+49, lowest, ephemeral-1)
	}
	for off := range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+off))
		if err != nil {
			t.Fatalf("port %d of the block is taken: %v", base+off, err)
		}
		ln.Close()
	}
	// A taken port keeps a block from being returned.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if blockFree(base, 50) {
		t.Error("a block with a listening port reported free")
	}
}

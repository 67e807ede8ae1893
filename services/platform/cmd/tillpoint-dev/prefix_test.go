package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// chunks reads as the given pieces, one per Read, as a pipe does.
type chunks struct{ parts []string }

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, c.parts[0])
	if c.parts[0] = c.parts[0][n:]; c.parts[0] == "" {
		c.parts = c.parts[1:]
	}
	return n, nil
}

func (c *chunks) Close() error { return nil }

func TestPrefixLines(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	for _, c := range []struct {
		name  string
		parts []string
		want  string
	}{
		{"whole lines", []string{"a\nb\n"}, "svc | a\nsvc | b\n"},
		{"a line across reads", []string{"one two", " three\nfour", "\n"}, "svc | one two three\nsvc | four\n"},
		{"no final newline", []string{"last words"}, "svc | last words\n"},
		{"empty lines", []string{"\n\n"}, "svc | \nsvc | \n"},
	} {
		var out bytes.Buffer
		prefixLines(&chunks{parts: c.parts}, &out, "svc")
		if got := strings.ReplaceAll(out.String(), "svc              | ", "svc | "); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}

	// A line with no end is cut into prefixed pieces of bounded length,
	// losing nothing.
	var out bytes.Buffer
	prefixLines(&chunks{parts: []string{long, "\n"}}, &out, "svc")
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	var rest strings.Builder
	for _, l := range lines {
		body, ok := strings.CutPrefix(l, "svc              | ")
		if !ok || len(body) > maxLine+64<<10 {
			t.Fatalf("piece of %d bytes, prefixed %v", len(l), ok)
		}
		rest.WriteString(body)
	}
	if len(lines) < 2 || rest.String() != long {
		t.Errorf("%d pieces holding %d bytes; want 2 or more holding the %d written", len(lines), rest.Len(), len(long))
	}
}

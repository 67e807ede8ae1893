package pgkit

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestHidePassword(t *testing.T) {
	cause := errors.New(`cannot parse "postgres://app:pa55word@db/app": pa55word is odd`)
	err := hidePassword(cause, passwordIn("postgres://app:pa55word@db/app"))
	if got := err.Error(); strings.Contains(got, "pa55word") || !strings.Contains(got, "app:xxxxx@db") {
		t.Errorf("Error() = %q; want the password masked", got)
	}
	if !errors.Is(err, cause) {
		t.Error("the cause is lost")
	}
	if err := hidePassword(fs.ErrNotExist, ""); err != fs.ErrNotExist {
		t.Errorf("without a password the error changed to %v", err)
	}
}

func TestPasswordIn(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app:pw@db/app":     "pw",
		"postgres://app:p%40w@db/app":  "p@w",
		"postgres://app@db/app":        "",
		"postgres://db/app":            "",
		"postgres://app:p%ZZw@db/app":  "app:p%ZZw", // Unparsable: all the user info.
		"host=db user=app password=pw": "",          // Not a URL; pgx redacts these itself.
	} {
		if got := passwordIn(in); got != want {
			t.Errorf("passwordIn(%q) = %q, want %q", in, got, want)
		}
	}
}

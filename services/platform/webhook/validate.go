package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// MaxURLLength bounds an endpoint URL. 2048 is what browsers and most
// servers handle everywhere; a longer webhook URL is a mistake or an attack.
const MaxURLLength = 2048

// ErrInvalidURL is returned (wrapped, with the reason) by ValidateURL and
// TargetPolicy.CheckURL. It names no parameter: the caller does (url for an
// endpoint, notify_url for a session), with the same message for both.
var ErrInvalidURL = errors.New("invalid URL")

// ValidateURL checks an endpoint URL when a merchant registers it: an
// absolute http or https URL with a host and no user name or password, at
// most MaxURLLength long. Unless allowPrivate is set (the dev stack), it must
// be https, and a host given as an IP address, or a .localhost name, must
// not be internal. Names are checked again, against the addresses they
// resolve to, at every delivery (see NewClient); this check is for a helpful
// error at registration time. The error message is fit to show the merchant.
func ValidateURL(raw string, allowPrivate bool) error {
	return validateURL(raw, allowPrivate, allowPrivate)
}

// validateURL is ValidateURL with http and internal addresses allowed
// separately: an organization allowed private targets in live mode still
// needs https there.
func validateURL(raw string, allowHTTP, allowPrivate bool) error {
	if raw == "" {
		return fmt.Errorf("%w: empty", ErrInvalidURL)
	}
	if len(raw) > MaxURLLength {
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidURL, MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the whole URL
		}
		return fmt.Errorf("%w: %v", ErrInvalidURL, err)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowHTTP {
			return fmt.Errorf("%w: must use https", ErrInvalidURL)
		}
	case "":
		return fmt.Errorf("%w: must be an absolute URL starting with https://", ErrInvalidURL)
	default:
		return fmt.Errorf("%w: scheme %q is not supported, use https", ErrInvalidURL, u.Scheme)
	}
	if u.Opaque != "" || u.Host == "" {
		return fmt.Errorf("%w: missing host (want https://host/path)", ErrInvalidURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: must not contain a user name or password", ErrInvalidURL)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("%w: missing host", ErrInvalidURL)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%w: port %q is out of range", ErrInvalidURL, p)
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if allowPrivate {
			return nil
		}
		if reason, bad := blockedReason(ip); bad {
			return fmt.Errorf("%w: %s is a %s address, which webhooks cannot reach", ErrInvalidURL, host, reason)
		}
		return nil
	}
	if looksNumeric(host) {
		// "127.1", "2130706433" and "0x7f.0.0.1" are IPv4 addresses to some
		// resolvers and browsers, never host names (top-level domains are
		// not numeric).
		return fmt.Errorf("%w: host %q looks like an IP address in a non-standard form; write it as a.b.c.d", ErrInvalidURL, host)
	}
	if isLocalhostName(host) && !allowPrivate {
		return fmt.Errorf("%w: %s is a loopback name, which webhooks cannot reach", ErrInvalidURL, host)
	}
	return nil
}

// looksNumeric reports whether the last label of host is a decimal, octal or
// hex number, which makes host an IPv4 address under the WHATWG URL rules
// rather than a DNS name.
func looksNumeric(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	digits := last
	if l := strings.ToLower(last); strings.HasPrefix(l, "0x") {
		digits = l[2:]
		return strings.Trim(digits, "0123456789abcdef") == ""
	}
	return strings.Trim(digits, "0123456789") == ""
}

package webhook

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// DescribeError turns a delivery's transport error into the text shown to
// the merchant in the attempt log: one of a few fixed phrases per kind of
// failure ("DNS lookup failed: no such host", "connection refused",
// "timed out after 15s", "TLS handshake failed: certificate …"). Go's
// errors name our resolver ("lookup a.example on 10.255.255.53:53"), our
// own addresses and the addresses a name resolved to in our network; none
// of that may reach a merchant, so nothing of err's text is copied. The
// full error belongs in our logs only. timeout is the client's limit.
func DescribeError(err error, timeout time.Duration) string {
	if err == nil {
		return ""
	}
	var (
		blocked  *BlockedAddressError
		dnsErr   *net.DNSError
		opErr    *net.OpError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		alert    tls.AlertError
		certErr  *tls.CertificateVerificationError
		timedOut interface{ Timeout() bool }
	)
	switch {
	case errors.As(err, &blocked):
		return blocked.merchantText()
	case errors.As(err, &dnsErr):
		switch {
		case dnsErr.IsNotFound:
			return "DNS lookup failed: no such host"
		case dnsErr.IsTimeout:
			return "DNS lookup failed: timed out"
		}
		return "DNS lookup failed"
	case errors.As(err, &unknown):
		return "TLS handshake failed: certificate signed by an unknown authority"
	case errors.As(err, &hostErr):
		return "TLS handshake failed: certificate is not valid for the URL's host name"
	case errors.As(err, &invalid):
		if invalid.Reason == x509.Expired {
			return "TLS handshake failed: certificate has expired or is not yet valid"
		}
		return "TLS handshake failed: certificate is not valid"
	case errors.As(err, &certErr):
		return "TLS handshake failed: certificate could not be verified"
	case errors.Is(err, http.ErrSchemeMismatch):
		return "TLS handshake failed: the server answered with plain http"
	case errors.As(err, &record):
		return "TLS handshake failed: the server did not answer with TLS"
	case errors.As(err, &alert):
		// The alert's text is one of a fixed set (RFC 8446 §6).
		return "TLS handshake failed: remote error: " + strings.TrimPrefix(alert.Error(), "tls: ")
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by the server"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Timeout():
		return fmt.Sprintf("could not connect within %s", min(dialTimeout, timeout))
	case strings.Contains(err.Error(), "TLS handshake timeout"):
		// net/http's handshake timeout is an unexported type.
		return fmt.Sprintf("TLS handshake timed out after %s", min(tlsHandshakeTimeout, timeout))
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timedOut) && timedOut.Timeout():
		return fmt.Sprintf("timed out after %s", timeout)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection without answering"
	case strings.Contains(err.Error(), "tls:"), strings.Contains(err.Error(), "x509:"):
		return "TLS handshake failed"
	}
	return "the request failed"
}

// merchantText is the refusal as the merchant sees it: the host as they
// wrote it, and the kind of address only when they wrote the address
// itself. What a name resolved to inside our network, or which of our
// listeners it hit, is not theirs to learn.
func (e *BlockedAddressError) merchantText() string {
	if e.Listener {
		return "refused: the address is one of this Tillpoint's own services"
	}
	if e.Host == e.IP.String() {
		reason, _ := blockedReason(e.IP)
		return fmt.Sprintf("refused: %s is a %s address, which webhooks cannot reach", e.Host, reason)
	}
	return "refused: the host resolves to an internal address, which webhooks cannot reach"
}

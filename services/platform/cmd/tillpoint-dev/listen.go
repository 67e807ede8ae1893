package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tillpoint/tillpoint/services/platform/webhook"
)

const (
	// maxDeliveryBody bounds a delivery's body: an event carries a whole
	// session, which with 100 line items stays far below this.
	maxDeliveryBody = 4 << 20
	// forwardTimeout is what hooks itself gives an endpoint (webhook.DefaultTimeout):
	// the forward target sees the same deadline as in production.
	forwardTimeout = webhook.DefaultTimeout
	// maxForwardAnswer bounds what is passed back of the forward target's answer;
	// hooks keeps only an excerpt anyway.
	maxForwardAnswer = 64 << 10
	// cleanupTimeout bounds deleting the endpoint after Ctrl-C.
	cleanupTimeout = 10 * time.Second
)

// forwardedHeaders are passed on to --forward-to, so that the merchant's own
// handler can verify the signature with the same secret.
var forwardedHeaders = []string{webhook.HeaderID, webhook.HeaderTimestamp, webhook.HeaderSignature, "Content-Type", "User-Agent"}

// listenOptions are the flags of `tillpoint-dev listen`.
type listenOptions struct {
	Dir       string
	Events    []string // nil: all events
	ForwardTo string
	JSON      bool
}

func parseListenFlags(args []string, stderr io.Writer) (listenOptions, error) {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o listenOptions
	var events string
	fs.StringVar(&o.Dir, "dir", defaultDevDir(), "dev directory holding stack.json ($TILLPOINT_DEV_DIR)")
	fs.StringVar(&events, "events", "", "comma-separated event types to receive (default: all)")
	fs.StringVar(&o.ForwardTo, "forward-to", "", "URL to forward each verified delivery to (body and webhook-* headers)")
	fs.BoolVar(&o.JSON, "json", false, "print each event's whole JSON (one line each) instead of a summary")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("listen: unexpected arguments %q", fs.Args())
	}
	for _, e := range strings.Split(events, ",") {
		if e = strings.TrimSpace(e); e != "" {
			o.Events = append(o.Events, e)
		}
	}
	if o.ForwardTo != "" {
		u, err := url.Parse(o.ForwardTo)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("listen: --forward-to %q is not an absolute http(s) URL", o.ForwardTo)
		}
	}
	return o, nil
}

// webhookEndpoint is the part of the API's endpoint object listen uses.
type webhookEndpoint struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// runListen registers a temporary webhook endpoint on a local server, prints
// each delivery, and deletes the endpoint when ctx ends (Ctrl-C, SIGTERM).
func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseListenFlags(args, stderr)
	if err != nil {
		return err
	}
	st, err := loadDevStack(o.Dir)
	if err != nil {
		return err
	}
	api := newAPIClient(st)
	h := &deliveryHandler{out: stdout, warn: stderr, json: o.JSON, forwardTo: o.ForwardTo,
		client: devHTTPClient(forwardTimeout), now: time.Now}
	// Bind first: deliveries that arrive before Serve starts wait in the
	// kernel's backlog instead of being refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	// Deferred calls run last first: the endpoint is deleted while the server
	// still answers, then deliveries in flight finish.
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	req := map[string]any{"url": "http://" + ln.Addr().String() + "/", "description": "tillpoint-dev listen"}
	if len(o.Events) > 0 {
		req["enabled_events"] = o.Events
	}
	var ep webhookEndpoint
	if err := api.call(ctx, http.MethodPost, "/v1/webhook_endpoints", req, &ep); err != nil {
		return fmt.Errorf("registering the webhook endpoint: %w", err)
	}
	defer func() {
		// ctx is done by now; the deletion still needs its own time.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		if err := api.call(dctx, http.MethodDelete, "/v1/webhook_endpoints/"+url.PathEscape(ep.ID), nil, nil); err != nil {
			fmt.Fprintf(stderr, "warning: could not delete webhook endpoint %s: %v\n", ep.ID, err)
			return
		}
		fmt.Fprintf(stderr, "Deleted webhook endpoint %s.\n", ep.ID)
	}()
	if h.secret, err = webhook.ParseSecret(ep.Secret); err != nil {
		return fmt.Errorf("endpoint %s: %w", ep.ID, err)
	}
	// With --json, stdout carries only events (JSON lines for jq); messages go
	// to stderr.
	info := stdout
	if o.JSON {
		info = stderr
	}
	fmt.Fprintf(info, "Ready! Listening for events (endpoint %s, secret %s)\n", ep.ID, ep.Secret)
	if o.ForwardTo != "" {
		fmt.Fprintf(info, "Forwarding verified deliveries to %s, as signed for this endpoint:\n"+
			"  your app verifies them with the secret above, %s (it changes with every listen)\n", o.ForwardTo, ep.Secret)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		return nil
	case err := <-served:
		return err
	}
}

// deliveryHandler receives webhook deliveries: it verifies each signature,
// prints the event and answers 200, or the forward target's answer.
type deliveryHandler struct {
	secret    []byte
	out, warn io.Writer
	json      bool
	forwardTo string
	client    *http.Client
	now       func() time.Time
	mu        sync.Mutex // one event per line, even when deliveries overlap
}

func (h *deliveryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "webhook deliveries are POSTs", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxDeliveryBody))
	if err != nil {
		h.printf(h.warn, "warning: reading a delivery: %v\n", err)
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	if err := webhook.Verify(h.secret, r.Header, body, h.now()); err != nil {
		h.printf(h.warn, "warning: refused delivery %s: signature does not verify: %v\n", orDash(r.Header.Get(webhook.HeaderID)), err)
		http.Error(w, "invalid signature", http.StatusBadRequest)
		return
	}
	status, answer := http.StatusOK, []byte(nil)
	forwarded := ""
	if h.forwardTo != "" {
		status, answer, err = h.forward(r.Context(), r.Header, body)
		if err != nil {
			status, answer = http.StatusBadGateway, []byte("forwarding failed\n")
			forwarded = "  -> " + err.Error()
		} else {
			forwarded = fmt.Sprintf("  -> %d", status)
		}
	}
	if h.json {
		var line bytes.Buffer
		if json.Compact(&line, body) != nil {
			line.Reset()
			line.Write(body)
		}
		h.printf(h.out, "%s\n", line.Bytes())
		if forwarded != "" {
			h.printf(h.warn, "%s%s\n", orDash(r.Header.Get(webhook.HeaderID)), forwarded)
		}
	} else {
		h.printf(h.out, "%s  %s%s\n", h.now().Format(time.DateTime), summarizeEvent(body), forwarded)
	}
	w.WriteHeader(status)
	_, _ = w.Write(answer)
}

// forward posts the delivery to --forward-to and returns its answer.
func (h *deliveryHandler) forward(ctx context.Context, hdr http.Header, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.forwardTo, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for _, k := range forwardedHeaders {
		if v := hdr.Values(k); len(v) > 0 {
			req.Header[http.CanonicalHeaderKey(k)] = v
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardAnswer))
	if err != nil {
		return 0, nil, err
	}
	return resp.StatusCode, answer, nil
}

func (h *deliveryHandler) printf(w io.Writer, format string, args ...any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	fmt.Fprintf(w, format, args...)
}

// summarizeEvent is the one-line view of an event: type, event id, object id,
// status (and payment status) and amount, when present.
func summarizeEvent(body []byte) string {
	var evt struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			Object map[string]any `json:"object"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&evt); err != nil {
		return "(not an event: " + excerptText(body) + ")"
	}
	obj := evt.Data.Object
	str := func(k string) string { s, _ := obj[k].(string); return s }
	parts := []string{fmt.Sprintf("%-40s", orDash(evt.Type)), orDash(evt.ID), orDash(str("id"))}
	status := str("status")
	if ps := str("payment_status"); ps != "" {
		status += "/" + ps
	}
	if status != "" {
		parts = append(parts, status)
	}
	amount, ok := intValue(obj["amount_total"])
	if !ok {
		amount, ok = intValue(obj["amount"])
	}
	if cur := str("currency"); ok && cur != "" {
		parts = append(parts, formatAmount(amount, cur))
	}
	return strings.Join(parts, "  ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

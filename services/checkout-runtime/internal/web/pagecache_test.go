package web

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
	"github.com/tillpoint/tillpoint/services/platform/testkit"
)

// TestCachedViewEqualsRender: an open page cut at the markers and filled
// with a nonce and a token is byte for byte the page rendered with them.
func TestCachedViewEqualsRender(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	c := newPageCache(nil)
	for _, lang := range []string{"en", "fr"} {
		p := samplePage(StateOpen, lang, true)
		want := renderHTML(t, p)
		nonce, token := p.Nonce, p.CSRFToken
		p.Nonce, p.CSRFToken = c.nonceMarker, c.csrfMarker
		page, err := r.bytes(p)
		if err != nil {
			t.Fatal(err)
		}
		v := c.cut(page, "'self'")
		slots := map[slot]int{}
		for _, ch := range v.chunks {
			slots[ch.after]++
		}
		// The nonce is on the <style> and the <script>, the token in the form.
		if slots[slotNonce] < 2 || slots[slotCSRF] < 1 {
			t.Errorf("%s: slots %v; want the nonce twice or more and the token", lang, slots)
		}
		var buf bytes.Buffer
		v.fill(&buf, nonce, token)
		if got := buf.String(); got != want {
			t.Errorf("%s: filled view differs from the render (%d vs %d bytes)", lang, len(got), len(want))
		}
		if strings.Contains(buf.String(), c.nonceMarker) || strings.Contains(buf.String(), c.csrfMarker) {
			t.Errorf("%s: a marker is left in the page", lang)
		}
	}
}

func putView(c *pageCache, id string, gen uint64, expires time.Time) {
	c.put(id, "", "en", expires, &renderedView{chunks: []chunk{{text: []byte(id)}}, size: len(id)}, gen)
}

func cached(c *pageCache, id string, now time.Time) bool {
	_, _, ok := c.get(id, "en", now)
	return ok
}

func TestPageCacheForgetsWhatChanged(t *testing.T) {
	srv := testkit.NewNATS(t)
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c := newPageCache(nc)
	sub, err := c.subscribe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	if err := nc.Flush(); err != nil { // the subscription is in place
		t.Fatal(err)
	}
	now := time.Now()
	later := now.Add(time.Hour) // far past the test: only what it does removes entries
	for _, id := range []string{"cs_a", "cs_b", "cs_c"} {
		putView(c, id, c.generation(), later)
		if !cached(c, id, now) {
			t.Fatalf("%s not cached", id)
		}
	}

	// Entries do not outlive their expiry.
	if cached(c, "cs_a", later) {
		t.Error("cs_a served past its expiry")
	}

	// A session event from anywhere forgets its session, and only it.
	publish := func(ev *eventsv1.Event) {
		t.Helper()
		b, _ := proto.Marshal(ev)
		if err := nc.Publish(natsx.EventSubject(ev.GetType()), b); err != nil {
			t.Fatal(err)
		}
	}
	publish(&eventsv1.Event{Type: "checkout.session.expired",
		Object: &eventsv1.Event_CheckoutSession{CheckoutSession: &adminv1.CheckoutSession{Id: "cs_b"}}})
	testkit.Eventually(t, "the expired session's page is forgotten", func() bool { return !cached(c, "cs_b", now) })
	if !cached(c, "cs_c", now) {
		t.Error("another session's page was forgotten too")
	}
	// So does a payment event, through the payment's session.
	publish(&eventsv1.Event{Type: "payment.succeeded",
		Object: &eventsv1.Event_Payment{Payment: &adminv1.Payment{Id: "pay_1", CheckoutSession: "cs_c"}}})
	testkit.Eventually(t, "the paid session's page is forgotten", func() bool { return !cached(c, "cs_c", now) })

	// A view whose data was read before a Forget is not stored after it.
	gen := c.generation()
	c.Forget("cs_d")
	putView(c, "cs_d", gen, later)
	if cached(c, "cs_d", now) {
		t.Error("a view read before a Forget was stored")
	}

	// Events sent while the connection is down are lost: a reconnect empties
	// the cache, and nothing is cached while disconnected.
	putView(c, "cs_e", c.generation(), later)
	srv.Shutdown()
	testkit.Eventually(t, "the client notices the outage", func() bool { return !nc.IsConnected() })
	if cached(c, "cs_e", now) {
		t.Error("a page was served from the cache while events could not arrive")
	}
	putView(c, "cs_f", c.generation(), later)
	if cached(c, "cs_f", now) {
		t.Error("a page was stored while events could not arrive")
	}
	srv.Restart(t)
	testkit.Eventually(t, "the client reconnects", nc.IsConnected)
	if cached(c, "cs_e", now) {
		t.Error("a page cached before the outage survived it")
	}
	putView(c, "cs_g", c.generation(), later)
	if !cached(c, "cs_g", now) {
		t.Error("caching did not resume after the reconnect")
	}
}

// TestPageCacheBoundsMemory: past pageCacheMaxBytes the cache starts over.
func TestPageCacheBoundsMemory(t *testing.T) {
	srv := testkit.NewNATS(t)
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c := newPageCache(nc)
	page := &renderedView{chunks: []chunk{{text: make([]byte, 1<<20)}}, size: 1 << 20}
	later := time.Now().Add(time.Hour)
	for i := range 20 {
		c.put(string(rune('a'+i)), "", "en", later, page, c.generation())
		if c.bytes > pageCacheMaxBytes {
			t.Fatalf("after %d pages the cache holds %d bytes", i+1, c.bytes)
		}
	}
	if c.bytes == 0 {
		t.Fatal("nothing was cached")
	}
}

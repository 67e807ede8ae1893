package web

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/events/v1"
	"github.com/tillpoint/tillpoint/services/platform/natsx"
)

// A payer's first view of a session costs a call to admin-api (the session
// and its site), a payments query and a 21 KB render; reloads, the back
// button and returns from a bank page repeat it. pageCache keeps the open
// view once rendered, with its two per-response values (the CSP nonce and
// the CSRF token) left as slots filled in on every answer, so that a repeat
// view costs about what writing the bytes does.
//
// Only the open state is kept, and what could change it makes the entry go:
//   - a payment posted or a challenge answered through this replica forgets
//     the session at once (Forget);
//   - every domain event (session completed or expired, async results,
//     payments succeeded or failed, from any replica or service) forgets its
//     session when it arrives over NATS, within milliseconds;
//   - while that subscription is not connected, or after it reconnected
//     (events may have been missed), the cache is emptied and bypassed;
//   - entries last pageCacheTTL at most, and never past the session's
//     expiry: a site's branding or tax change, and a challenge started on
//     another replica (no event), show within that time.
//
// Payment itself never trusts the page: admin-api accepts one payment per
// session whatever a page showed.
const (
	pageCacheTTL = 2 * time.Second
	// pageCacheMaxBytes bounds the memory the rendered pages take (about
	// 200 open pages of 21 KB): a 2-second cache needs no more.
	pageCacheMaxBytes = 4 << 20
)

// slot is a per-response value of a cached page.
type slot uint8

const (
	slotNone slot = iota
	slotNonce
	slotCSRF
)

// renderedView is an open page cut at its slots: chunks[i].text, then the
// value of chunks[i].after, and so on.
type renderedView struct {
	chunks      []chunk
	formTargets string // the CSP form-action sources
	stripe      bool   // the CSP allows Stripe.js (stripeCSP)
	size        int
}

type chunk struct {
	text  []byte
	after slot
}

type pageEntry struct {
	locale  string // the session's, for language negotiation
	expires time.Time
	views   map[string]*renderedView // by language
}

type pageCache struct {
	nc *nats.Conn // nil: the cache is off

	mu         sync.Mutex
	entries    map[string]*pageEntry // by session id
	bytes      int
	reconnects uint64 // nc's count when the entries were made
	// gen counts Forgets and clears, so that a render that read its data
	// before one does not store its page after it.
	gen uint64
	// markers are what the renderer writes in place of the slots: random
	// per process, so no session's content can contain one by chance or
	// on purpose.
	nonceMarker, csrfMarker string
}

func newPageCache(nc *nats.Conn) *pageCache {
	return &pageCache{nc: nc, entries: map[string]*pageEntry{},
		nonceMarker: "tpn" + randomHex(16), csrfMarker: "tpc" + randomHex(16)}
}

// usable reports whether entries may be used and stored; it empties the
// cache when events may have been missed since they were made. Call with
// mu held.
func (c *pageCache) usable() bool {
	if c.nc == nil || !c.nc.IsConnected() {
		c.clearLocked()
		return false
	}
	if n := c.nc.Stats().Reconnects; n != c.reconnects {
		c.clearLocked()
		c.reconnects = n
	}
	return true
}

func (c *pageCache) clearLocked() {
	clear(c.entries)
	c.bytes = 0
	c.gen++
}

// generation is read before loading what a page shows, and given to put.
func (c *pageCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// get returns the session's open view in the language acceptLanguage
// negotiates, if it is cached.
func (c *pageCache) get(sessionID, acceptLanguage string, now time.Time) (*renderedView, string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.usable() {
		return nil, "", false
	}
	e, ok := c.entries[sessionID]
	if !ok {
		return nil, "", false
	}
	if !now.Before(e.expires) {
		c.forgetLocked(sessionID)
		return nil, "", false
	}
	lang := negotiateLang(e.locale, acceptLanguage)
	v, ok := e.views[lang]
	return v, lang, ok
}

// put keeps an open view until expires (the caller bounds it by the
// session's expiry). gen is the generation read before the data the view
// shows: if anything was forgotten since, the view may be stale and is not
// kept.
func (c *pageCache) put(sessionID, locale, lang string, expires time.Time, v *renderedView, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.usable() || gen != c.gen {
		return
	}
	if c.bytes+v.size > pageCacheMaxBytes {
		c.clearLocked()
	}
	e, ok := c.entries[sessionID]
	if !ok {
		e = &pageEntry{locale: locale, expires: expires, views: map[string]*renderedView{}}
		c.entries[sessionID] = e
	}
	if old, ok := e.views[lang]; ok {
		c.bytes -= old.size
	}
	e.views[lang] = v
	c.bytes += v.size
}

// Forget drops a session's pages: call it when this replica changes the
// session's payments.
func (c *pageCache) Forget(sessionID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetLocked(sessionID)
}

func (c *pageCache) forgetLocked(sessionID string) {
	if e, ok := c.entries[sessionID]; ok {
		for _, v := range e.views {
			c.bytes -= v.size
		}
		delete(c.entries, sessionID)
	}
	c.gen++
}

// subscribe forgets the session of every domain event published on NATS.
func (c *pageCache) subscribe() (*nats.Subscription, error) {
	return c.nc.Subscribe(natsx.EventSubject(">"), func(m *nats.Msg) {
		var ev eventsv1.Event
		if proto.Unmarshal(m.Data, &ev) != nil {
			return
		}
		switch o := ev.GetObject().(type) {
		case *eventsv1.Event_CheckoutSession:
			c.Forget(o.CheckoutSession.GetId())
		case *eventsv1.Event_Payment:
			c.Forget(o.Payment.GetCheckoutSession())
		}
	})
}

// fill writes the page with nonce and csrf in its slots.
func (v *renderedView) fill(buf *bytes.Buffer, nonce, csrf string) {
	for _, c := range v.chunks {
		buf.Write(c.text)
		switch c.after {
		case slotNonce:
			buf.WriteString(nonce)
		case slotCSRF:
			buf.WriteString(csrf)
		}
	}
}

// cut splits a rendered page at the markers. The view keeps its own copy
// of the page, of exactly its size.
func (c *pageCache) cut(page []byte, formTargets string) *renderedView {
	page = bytes.Clone(page)
	v := &renderedView{formTargets: formTargets, size: len(page)}
	markers := []struct {
		text []byte
		slot slot
		next int // where it next occurs in page, or -1
	}{{text: []byte(c.nonceMarker), slot: slotNonce}, {text: []byte(c.csrfMarker), slot: slotCSRF}}
	find := func(i, from int) {
		if at := bytes.Index(page[from:], markers[i].text); at >= 0 {
			markers[i].next = from + at
		} else {
			markers[i].next = -1
		}
	}
	find(0, 0)
	find(1, 0)
	for pos := 0; ; {
		i := 0 // the nearer marker
		if markers[0].next < 0 || (markers[1].next >= 0 && markers[1].next < markers[0].next) {
			i = 1
		}
		m := markers[i]
		if m.next < 0 {
			v.chunks = append(v.chunks, chunk{text: page[pos:]})
			return v
		}
		v.chunks = append(v.chunks, chunk{text: page[pos:m.next], after: m.slot})
		pos = m.next + len(m.text)
		find(i, pos)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

package dashboard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"google.golang.org/protobuf/proto"

	adminv1 "github.com/tillpoint/tillpoint/proto/gen/go/tillpoint/admin/v1"
	"github.com/tillpoint/tillpoint/services/platform/gateway"
)

// eventsPerPage is how many events the Events page lists.
const eventsPerPage = 25

// eventsView is the Events page's data.
type eventsView struct {
	Events []*adminv1.Event
	// Type is the type filter; After the last event shown when there are
	// more (Older).
	Type, After string
}

// eventPage is one event's page: the event and its JSON as the API gives it.
type eventPage struct {
	Event *adminv1.Event
	JSON  string
}

// listEvents lists the organization's events of the current mode, newest
// first, of one known type or all.
func (h *Handler) listEvents(w http.ResponseWriter, r *http.Request, v visit) {
	q := r.URL.Query()
	ev := &eventsView{Type: q.Get("type")}
	if ev.Type != "" && !slices.Contains(eventTypes(), ev.Type) {
		ev.Type = ""
	}
	resp, err := h.events.ListEvents(v.principal(r.Context()), &adminv1.ListEventsRequest{Limit: proto.Int32(eventsPerPage),
		Type: ev.Type, StartingAfter: q.Get("after")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	ev.Events = resp.GetData()
	if resp.GetHasMore() && len(ev.Events) > 0 {
		ev.After = ev.Events[len(ev.Events)-1].GetId()
	}
	h.render(w, r, http.StatusOK, "events", &v, "developers", ev)
}

// showEvent shows an event with its JSON as the API encodes it (the
// platform's gateway encoder), indented; the template escapes it.
func (h *Handler) showEvent(w http.ResponseWriter, r *http.Request, v visit) {
	resp, err := h.events.GetEvent(v.principal(r.Context()), &adminv1.GetEventRequest{Id: r.PathValue("id")})
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	b, err := gateway.Marshal(resp.GetEvent())
	var out bytes.Buffer
	if err == nil {
		err = json.Indent(&out, b, "", "  ")
	}
	if err != nil {
		h.fail(w, r, &v, err)
		return
	}
	h.render(w, r, http.StatusOK, "event", &v, "developers", &eventPage{Event: resp.GetEvent(), JSON: out.String()})
}

package main

import (
	"testing"
	"time"
)

func TestAnswersAreJudgedByTheServicesDependencies(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	fs := []fault{
		{Component: "postgres", Kind: "postgres", Killed: at(10), Ready: at(20)},   // window 10–25 s
		{Component: "nats-2", Kind: "nats", Killed: at(40), Ready: at(45)},         // window 40–50 s
		{Component: "admin-api-1", Kind: "service", Killed: at(60), Ready: at(62)}, // window 60–67 s
	}
	cases := []struct {
		name    string
		a       attempt
		violate bool
	}{
		{"503 while PostgreSQL is down", attempt{Service: "hooks", Status: 503, Start: at(12), End: at(13)}, false},
		{"503 in the grace after PostgreSQL is ready", attempt{Service: "hooks", Status: 503, Start: at(24), End: at(24)}, false},
		{"503 with nothing down", attempt{Service: "hooks", Status: 503, Start: at(30), End: at(31)}, true},
		{"503 while only a NATS node is down", attempt{Service: "admin-api", Status: 503, Start: at(41), End: at(42)}, true},
		{"no answer while a NATS node is down", attempt{Service: "checkout-runtime", Start: at(41), End: at(42), Err: "EOF"}, true},
		{"runtime 503 while an admin-api replica is down", attempt{Service: "checkout-runtime", Status: 503, Start: at(61), End: at(61)}, false},
		{"hooks 503 while an admin-api replica is down", attempt{Service: "hooks", Status: 503, Start: at(61), End: at(61)}, true},
		{"500 while PostgreSQL is down", attempt{Service: "admin-api", Status: 500, Start: at(12), End: at(13)}, true},
		{"502 while PostgreSQL is down", attempt{Service: "admin-api", Status: 502, Start: at(12), End: at(13)}, true},
		{"409 with nothing down", attempt{Service: "checkout-runtime", Status: 409, Start: at(30), End: at(30)}, false},
	}
	for _, c := range cases {
		got := checkAnswers([]attempt{c.a}, fs, map[string]int{})
		if (len(got.Violations) > 0) != c.violate {
			t.Errorf("%s: violations %q, want a violation: %v", c.name, got.Violations, c.violate)
		}
	}
	counts := map[string]int{}
	checkAnswers([]attempt{{Service: "hooks", Status: 503, Start: at(12), End: at(13)}}, fs, counts)
	if counts["answers 503 from hooks while postgres was down"] != 1 {
		t.Errorf("counts %v", counts)
	}
}

func TestSubscribed(t *testing.T) {
	for _, c := range []struct {
		events []string
		typ    string
		want   bool
	}{
		{[]string{"*"}, "payment.succeeded", true},
		{[]string{"checkout.session.completed"}, "checkout.session.completed", true},
		{[]string{"checkout.session.completed"}, "checkout.session.expired", false},
		{[]string{"checkout.session.*"}, "checkout.session.expired", true},
		{[]string{"checkout.session.*"}, "payment.succeeded", false},
	} {
		if got := subscribed(c.events, c.typ); got != c.want {
			t.Errorf("subscribed(%v, %s) = %v, want %v", c.events, c.typ, got, c.want)
		}
	}
}

func TestPayToWebhookIsTheFastEndpointsCompletedEvent(t *testing.T) {
	t0 := time.Now()
	r := &receiver{got: map[string]map[string]*arrival{
		"/fast": {
			"w1": {Type: "checkout.session.completed", ObjectID: "cs_1", At: t0.Add(100 * time.Millisecond)},
			"w2": {Type: "payment.succeeded", ObjectID: "cs_2", At: t0.Add(time.Second)},
			"w3": {Type: "checkout.session.completed", ObjectID: "cs_3", At: t0.Add(300 * time.Millisecond)},
		},
		"/slow": {"w4": {Type: "checkout.session.completed", ObjectID: "cs_2", At: t0.Add(time.Hour)}},
	}}
	flows := []*flow{
		{Kind: kindCard, SessionID: "cs_1", PayStart: t0, PayAnswer: "succeeded"},
		{Kind: kindCard, SessionID: "cs_2", PayStart: t0, PayAnswer: "succeeded"},  // no completed at /fast
		{Kind: kindBank, SessionID: "cs_3", PayStart: t0, PayAnswer: "processing"}, // not a 4242 payment
	}
	p50, p99, n := payToWebhook(flows, r)
	if n != 1 || p50 != 100*time.Millisecond || p99 != 100*time.Millisecond {
		t.Fatalf("p50 %s p99 %s n %d; want 100ms, 100ms, 1", p50, p99, n)
	}
}

package main

import (
	"fmt"
	"strings"
)

// row is one line of a scenario's table.
type row struct {
	Name          string
	QPS           float64
	P50, P95, P99 float64 // ms; negative: not measured
	Errors        int64
	BaselineQPS   float64 // 0: no baseline
	Target        string
	Pass          *bool // nil: no target on this row
	Note          string
}

// table is one scenario's Markdown table.
type table struct {
	Title string
	Rows  []row
	Notes []string
}

func ms(v float64) string {
	if v < 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

func (t table) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### %s\n\n", t.Title)
	b.WriteString("| scenario | QPS | p50 ms | p95 ms | p99 ms | errors | baseline QPS | ratio | target | result |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
	for _, r := range t.Rows {
		base, ratio := "—", "—"
		if r.BaselineQPS > 0 {
			base = fmt.Sprintf("%.0f", r.BaselineQPS)
			// One decimal below 10 %, where rounding to a whole percent
			// would hide a several-fold change (1.4 % vs 0.6 %).
			if pct := 100 * r.QPS / r.BaselineQPS; pct < 10 {
				ratio = fmt.Sprintf("%.1f %%", pct)
			} else {
				ratio = fmt.Sprintf("%.0f %%", pct)
			}
		}
		qps := "—"
		if r.QPS > 0 {
			qps = fmt.Sprintf("%.0f", r.QPS)
		}
		res := "—"
		if r.Pass != nil {
			res = "MISS"
			if *r.Pass {
				res = "PASS"
			}
		}
		if r.Errors > 0 {
			res += " (errors)"
		}
		target := r.Target
		if target == "" {
			target = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d | %s | %s | %s | %s |\n",
			r.Name, qps, ms(r.P50), ms(r.P95), ms(r.P99), r.Errors, base, ratio, target, res)
	}
	for _, n := range t.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	return b.String()
}

func pass(ok bool) *bool { return &ok }

package web

import (
	"strings"
	"testing"

	"github.com/tillpoint/tillpoint/services/platform/money"
)

// TestFormatAmountFollowsCLDR: the page shows amounts by money.Format in
// its language (money's tests hold the layouts), and every page language
// has its own CLDR pattern there, so none falls back to the root one.
func TestFormatAmountFollowsCLDR(t *testing.T) {
	for _, c := range []struct {
		amount     int64
		code, lang string
		want       string
	}{
		{1350, "EUR", "en", "€13.50"},
		{1350, "EUR", "fr", "13,50\u00a0€"},
		{123456, "USD", "es", "1.234,56\u00a0US$"},
		{100, "XXX", "en", "XXX"}, // not payable: shown as itself
	} {
		if got := formatAmount(c.amount, c.code, c.lang); got != c.want {
			t.Errorf("formatAmount(%d, %s, %s) = %q, want %q", c.amount, c.code, c.lang, got, c.want)
		}
	}
	for _, tag := range supportedLangs {
		if !money.HasPattern(tag) {
			t.Errorf("money has no currency pattern for %s (add CLDR's to its patterns)", tag)
		}
	}
}

// TestSpanishIsData: Spanish is chosen like the others (the session's
// locale, then Accept-Language) and the page speaks it.
func TestSpanishIsData(t *testing.T) {
	for _, c := range []struct{ locale, accept, want string }{
		{"es", "", "es"}, {"es-MX", "fr", "es"}, {"", "es-ES,es;q=0.9,en;q=0.5", "es"}, {"auto", "de-DE,es;q=0.8", "es"}, {"", "ja", "en"},
	} {
		if got := negotiateLang(c.locale, c.accept); got != c.want {
			t.Errorf("negotiateLang(%q, %q) = %q, want %q", c.locale, c.accept, got, c.want)
		}
	}
	p := samplePage(StateOpen, "es", true)
	p.Totals.Total = formatAmount(5000, "EUR", "es")
	page := renderHTML(t, p)
	for id, want := range map[string]string{"pay-button": "Pagar 50,00\u00a0€", "pay-h": "Datos de pago", "summary-h": "Resumen del pedido"} {
		if got := textOf(t, page, id); got != want {
			t.Errorf("#%s = %q, want %q", id, got, want)
		}
	}
	if !strings.HasPrefix(page, "<!doctype html>\n<html lang=\"es\">") {
		t.Errorf("lang is not es")
	}
}

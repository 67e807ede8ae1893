package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestDocsPageBrowser: the API reference at /docs loads in Chromium without
// a CSP violation or a request to another origin, and reads at a phone's
// width without sideways scrolling of the page (wide tables scroll inside
// their own box). Screenshots of the top of the page at both widths.
func TestDocsPageBrowser(t *testing.T) {
	shots := screenshotDir(t)
	tab := newTab(t, newChromium(t))
	for _, w := range []struct {
		name          string
		width, height int64
	}{{"narrow", 390, 844}, {"wide", 1280, 900}} {
		do(t, tab, "open /docs", chromedp.EmulateViewport(w.width, w.height), chromedp.Navigate(sys.AdminAPIURL+"/docs"),
			chromedp.WaitVisible(chromedp.ID("tag-CheckoutSessionService")))
		facts, err := chromedp.Run(tab, chromedp.Evaluate[map[string]any](`(() => ({
			overflow: document.documentElement.scrollWidth - window.innerWidth,
			foreign: performance.getEntriesByType("resource").filter(e => new URL(e.name).origin !== location.origin).length,
			ops: document.querySelectorAll("section.op h3 .m").length,
			styled: getComputedStyle(document.querySelector("section.op")).borderTopStyle,
		}))()`))
		if err != nil {
			t.Fatal(err)
		}
		if facts["overflow"] != 0.0 || facts["foreign"] != 0.0 || facts["ops"].(float64) < 50 || facts["styled"] != "solid" {
			t.Errorf("%s: %v (want no overflow, no foreign request, every operation, the page's style applied)", w.name, facts)
		}
		png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(shots, "docs-"+w.name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
}

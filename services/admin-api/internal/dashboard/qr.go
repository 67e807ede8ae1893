package dashboard

import (
	"fmt"
	"html/template"
	"strings"

	"rsc.io/qr"
)

// qrQuiet is the quiet zone around the code, in modules (the standard's 4).
const qrQuiet = 4

// qrSVG draws url as a QR code in SVG, one path of unit squares, so that
// the page needs no image request and no script. Level M recovers from 15 %
// damage, plenty for a screen or a print-out. An unencodable url (too long
// for a QR code) draws nothing.
func qrSVG(url, label string) template.HTML {
	code, err := qr.Encode(url, qr.M)
	if err != nil {
		return ""
	}
	n := code.Size + 2*qrQuiet
	var path strings.Builder
	for y := range code.Size {
		for x := range code.Size {
			if code.Black(x, y) {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x+qrQuiet, y+qrQuiet)
			}
		}
	}
	return template.HTML(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="200" height="200" role="img" aria-label="%s" shape-rendering="crispEdges"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		n, n, template.HTMLEscapeString(label), n, n, path.String()))
}

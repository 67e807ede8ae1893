package openapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
)

// The API reference at /docs: the OpenAPI 3.1 document rendered once, on the
// server, as one static page with operations grouped by tag, their
// parameters, request and response schemas and examples, and every schema.
// No script, no third-party request: the CSP allows only the page's own
// style, by hash.

type docPage struct {
	Title, Version, Description string
	Groups                      []docGroup
	Schemas                     []docSchema
}

type docGroup struct {
	Name, Anchor, Description string
	Ops                       []docOp
}

type docOp struct {
	Method, Path, Anchor, Summary string
	Params                        []docParam
	Body                          *docType
	Responses                     []docResponse
}

type docParam struct {
	Name, In, Description string
	Type                  docType
	Required              bool
}

type docResponse struct {
	Status, Description string
	Type                *docType
	Example             string
}

// docType is a schema's type for display: a link to a named schema, or a
// description such as "array of string" or "integer (int64) | null".
type docType struct {
	Text, Ref string
}

type docSchema struct {
	Name, Anchor, Description, Example string
	Props                              []docProp
}

type docProp struct {
	Name, Description string
	Type              docType
	Required          bool
}

const docsStyle = `:root{color-scheme:light dark;--fg:#1a1a2e;--mute:#5a5a70;--bg:#fff;--soft:#f4f4f8;--line:#dcdce6;--acc:#4f46e5}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8f0;--mute:#a0a0b4;--bg:#14141c;--soft:#1e1e2a;--line:#34344a;--acc:#a5a0ff}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:60rem;margin:0 auto;padding:1rem;overflow-wrap:anywhere}a{color:var(--acc)}h1{font-size:1.6rem}h2{margin-top:2.5rem;border-bottom:1px solid var(--line)}
section.op{border:1px solid var(--line);border-radius:.5rem;padding:.75rem 1rem;margin:1rem 0}
h3{font-size:1.05rem;margin:.2rem 0;overflow-wrap:anywhere}.m{display:inline-block;min-width:4.2em;font:600 .8rem ui-monospace,monospace;padding:.1rem .4rem;border-radius:.3rem;background:var(--soft)}
code,pre{font:.85rem/1.45 ui-monospace,monospace}pre{background:var(--soft);padding:.6rem;border-radius:.4rem;overflow-x:auto;white-space:pre-wrap;overflow-wrap:anywhere}
.t{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{text-align:left;vertical-align:top;padding:.3rem .5rem;border-top:1px solid var(--line)}
.d{color:var(--mute);white-space:pre-line}nav ul{columns:14rem;padding-left:1.2rem}.req{color:#b91c1c;font-size:.8rem}`

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — API reference</title><style>{{.Style}}</style></head>
<body><main>
<h1>{{.Page.Title}} <small>{{.Page.Version}}</small></h1>
<p class="d">{{.Page.Description}}</p>
<p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a> (OpenAPI 3.1).</p>
<nav aria-label="Contents"><ul>{{range .Page.Groups}}<li><a href="#{{.Anchor}}">{{.Name}}</a></li>{{end}}<li><a href="#schemas">Schemas</a></li></ul></nav>
{{range .Page.Groups}}<h2 id="{{.Anchor}}">{{.Name}}</h2><p class="d">{{.Description}}</p>
{{range .Ops}}<section class="op" id="{{.Anchor}}"><h3><span class="m">{{.Method}}</span> <code>{{.Path}}</code></h3><p class="d">{{.Summary}}</p>
{{if .Params}}<div class="t"><table><caption hidden>Parameters</caption><tr><th>Parameter</th><th>In</th><th>Type</th><th>Description</th></tr>
{{range .Params}}<tr><td><code>{{.Name}}</code>{{if .Required}} <span class="req">required</span>{{end}}</td><td>{{.In}}</td><td>{{template "type" .Type}}</td><td class="d">{{.Description}}</td></tr>{{end}}</table></div>{{end}}
{{with .Body}}<p>Request body (JSON): {{template "type" .}}</p>{{end}}
{{range .Responses}}<p><strong>{{.Status}}</strong> {{.Description}}{{with .Type}} — {{template "type" .}}{{end}}</p>{{with .Example}}<pre>{{.}}</pre>{{end}}{{end}}
</section>{{end}}{{end}}
<h2 id="schemas">Schemas</h2>
{{range .Page.Schemas}}<section class="op" id="{{.Anchor}}"><h3><code>{{.Name}}</code></h3><p class="d">{{.Description}}</p>
{{if .Props}}<div class="t"><table><tr><th>Field</th><th>Type</th><th>Description</th></tr>
{{range .Props}}<tr><td><code>{{.Name}}</code>{{if .Required}} <span class="req">required</span>{{end}}</td><td>{{template "type" .Type}}</td><td class="d">{{.Description}}</td></tr>{{end}}</table></div>{{end}}
{{with .Example}}<p>Example:</p><pre>{{.}}</pre>{{end}}</section>{{end}}
</main></body></html>
{{define "type"}}{{if .Ref}}<a href="#schema-{{.Ref}}">{{.Ref}}</a>{{end}}{{.Text}}{{end}}`))

// LazyDocs is the handler of /docs, rendered from the embedded document on
// the first request: loading the 290 KB description with kin-openapi and
// rendering it allocates about 30 MB (measured), which every replica would
// otherwise pay at start-up, and keep in its peak RSS, whether anyone reads
// the reference or not. The rendering itself is checked by TestDocsPage.
func LazyDocs() http.Handler {
	var once sync.Once
	var h http.Handler
	var err error
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { h, err = Docs() })
		if err != nil {
			http.Error(w, "The API reference could not be rendered.", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Docs returns the handler of /docs, rendered from the embedded document.
func Docs() (http.Handler, error) {
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := docsTemplate.Execute(&buf, map[string]any{"Title": doc.Info.Title, "Page": docPageOf(doc), "Style": template.CSS(docsStyle)}); err != nil {
		return nil, err
	}
	body := buf.Bytes()
	sum := sha256.Sum256([]byte(docsStyle))
	csp := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'none'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
	}), nil
}

func docPageOf(doc *openapi3.T) docPage {
	p := docPage{Title: doc.Info.Title, Version: doc.Info.Version, Description: doc.Info.Description}
	groups := map[string]*docGroup{}
	var order []string
	group := func(name string) *docGroup {
		if g := groups[name]; g != nil {
			return g
		}
		g := &docGroup{Name: name, Anchor: "tag-" + name}
		if t := doc.Tags.Get(name); t != nil {
			g.Description = t.Description
		}
		groups[name] = g
		order = append(order, name)
		return g
	}
	for _, t := range doc.Tags { // the document's order first
		group(t.Name)
	}
	paths := doc.Paths.Keys()
	sort.Strings(paths)
	for _, path := range paths {
		ops := doc.Paths.Value(path).Operations()
		for _, method := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			op := ops[method]
			if op == nil {
				continue
			}
			tag := "Other"
			if len(op.Tags) > 0 {
				tag = op.Tags[0]
			}
			g := group(tag)
			g.Ops = append(g.Ops, docOpOf(method, path, op))
		}
	}
	for _, name := range order {
		if g := groups[name]; len(g.Ops) > 0 {
			p.Groups = append(p.Groups, *g)
		}
	}
	names := make([]string, 0, len(doc.Components.Schemas))
	for name := range doc.Components.Schemas {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := doc.Components.Schemas[name].Value
		ds := docSchema{Name: name, Anchor: "schema-" + name, Description: s.Description}
		if len(s.Examples) > 0 {
			ds.Example = pretty(s.Examples[0])
		} else if s.Example != nil {
			ds.Example = pretty(s.Example)
		}
		props := make([]string, 0, len(s.Properties))
		for k := range s.Properties {
			props = append(props, k)
		}
		sort.Strings(props)
		for _, k := range props {
			ps := s.Properties[k]
			ds.Props = append(ds.Props, docProp{Name: k, Type: typeOf(ps), Description: ps.Value.Description, Required: slices.Contains(s.Required, k)})
		}
		p.Schemas = append(p.Schemas, ds)
	}
	return p
}

func docOpOf(method, path string, op *openapi3.Operation) docOp {
	d := docOp{Method: method, Path: path, Anchor: "op-" + op.OperationID, Summary: strings.TrimSpace(op.Summary + "\n" + op.Description)}
	for _, pr := range op.Parameters {
		v := pr.Value
		dp := docParam{Name: v.Name, In: v.In, Description: v.Description, Required: v.Required}
		if v.Schema != nil {
			dp.Type = typeOf(v.Schema)
		}
		d.Params = append(d.Params, dp)
	}
	if op.RequestBody != nil && op.RequestBody.Value != nil {
		if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			t := typeOf(mt.Schema)
			d.Body = &t
		}
	}
	if op.Responses != nil {
		codes := op.Responses.Keys()
		sort.Strings(codes) // 2xx before "default"
		for _, code := range codes {
			rv := op.Responses.Value(code).Value
			r := docResponse{Status: code}
			if rv.Description != nil {
				r.Description = *rv.Description
			}
			if mt := rv.Content.Get("application/json"); mt != nil {
				if mt.Schema != nil {
					t := typeOf(mt.Schema)
					r.Type = &t
				}
				if mt.Example != nil {
					r.Example = pretty(mt.Example)
				}
			}
			d.Responses = append(d.Responses, r)
		}
	}
	return d
}

// typeOf describes a schema for display.
func typeOf(s *openapi3.SchemaRef) docType {
	if s.Ref != "" {
		return docType{Ref: strings.TrimPrefix(s.Ref, "#/components/schemas/")}
	}
	v := s.Value
	if v == nil || v.Type == nil {
		return docType{Text: "object"}
	}
	var parts []string
	for _, t := range v.Type.Slice() {
		switch {
		case t == "array" && v.Items != nil:
			item := typeOf(v.Items)
			if item.Ref != "" {
				return docType{Text: " (array)", Ref: item.Ref}
			}
			parts = append(parts, "array of "+item.Text)
		case v.Format != "" && t != "null":
			parts = append(parts, fmt.Sprintf("%s (%s)", t, v.Format))
		default:
			parts = append(parts, t)
		}
	}
	if len(v.Enum) > 0 {
		vals := make([]string, len(v.Enum))
		for i, e := range v.Enum {
			vals[i] = fmt.Sprint(e)
		}
		parts = append(parts, "one of "+strings.Join(vals, ", "))
	}
	return docType{Text: strings.Join(parts, " | ")}
}

func pretty(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

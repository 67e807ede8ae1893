package main

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/yannh/kubeconform/pkg/validator"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// kubernetesVersion is the release deploy/schemas/kubernetes was made from
// (schemagen's kubernetesModule).
const kubernetesVersion = "1.36.3"

// Render builds the kustomization in dir, as `kubectl apply -k dir` would.
func Render(dir string) ([]byte, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize %s: %w", dir, err)
	}
	return m.AsYaml()
}

// Validator checks manifests with kubeconform against the schemas kept in
// the repository: built-in kinds under kubernetes/, custom resources under
// crd/<group>/. Strict: an unknown field, a duplicated key or a kind without
// a schema is a problem.
type Validator struct {
	v validator.Validator
}

// NewValidator reads the schemas under schemaDir (deploy/schemas).
func NewValidator(schemaDir string) (*Validator, error) {
	abs, err := filepath.Abs(schemaDir)
	if err != nil {
		return nil, err
	}
	v, err := validator.New([]string{
		filepath.Join(abs, "kubernetes", "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
		filepath.Join(abs, "crd", "{{ .Group }}", "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"),
	}, validator.Opts{Strict: true, KubernetesVersion: kubernetesVersion})
	if err != nil {
		return nil, err
	}
	return &Validator{v: v}, nil
}

// Validate returns one line per invalid resource of a multi-document YAML
// stream, and how many resources it held.
func (val *Validator) Validate(name string, manifests []byte) (problems []string, resources int) {
	for _, r := range val.v.Validate(name, io.NopCloser(bytes.NewReader(manifests))) {
		switch r.Status {
		case validator.Valid:
			resources++
			continue
		case validator.Empty:
			continue
		}
		resources++
		what := name
		if sig, err := r.Resource.Signature(); err == nil {
			what = fmt.Sprintf("%s: %s %s", name, sig.Kind, sig.Name)
		}
		if len(r.ValidationErrors) == 0 {
			problems = append(problems, fmt.Sprintf("%s: %v", what, r.Err))
		}
		for _, e := range r.ValidationErrors {
			problems = append(problems, fmt.Sprintf("%s: %s: %s", what, e.Path, e.Msg))
		}
	}
	return problems, resources
}

// CheckHelmValues reports every key of values that the chart's own
// values.yaml (defaults) does not have, by its path. Below a key whose
// default is an empty map or list (the chart's merge/patch hooks, env,
// resources, …) anything goes: the chart passes it through.
func CheckHelmValues(values, defaults []byte) ([]string, error) {
	var v, d any
	if err := yaml.Unmarshal(values, &v); err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	if err := yaml.Unmarshal(defaults, &d); err != nil {
		return nil, fmt.Errorf("chart defaults: %w", err)
	}
	var problems []string
	var walk func(path string, v, d any)
	walk = func(path string, v, d any) {
		vm, ok := v.(map[string]any)
		if !ok {
			return
		}
		dm, ok := d.(map[string]any)
		if !ok {
			if d != nil {
				problems = append(problems, fmt.Sprintf("%s: the chart expects a %T here, not a map", path, d))
			}
			return
		}
		if len(dm) == 0 {
			return
		}
		for _, k := range sortedKeys(vm) {
			dv, known := dm[k]
			if !known {
				problems = append(problems, fmt.Sprintf("%s.%s: not a value of the chart", path, k))
				continue
			}
			walk(path+"."+k, vm[k], dv)
		}
	}
	walk("", v, d)
	return problems, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// externalMetrics are the metrics the alert rules use that Tillpoint does
// not export itself, with where each is documented.
var externalMetrics = map[string]string{
	"up":                      "Prometheus, per scrape target",
	"cnpg_collector_up":       "CloudNativePG 1.30 docs/src/monitoring.md",
	"cnpg_pg_replication_lag": "CloudNativePG 1.30 config/manager/default-monitoring.yaml (pg_replication.lag)",
	"barman_cloud_cloudnative_pg_io_last_available_backup_timestamp": "Barman Cloud Plugin 0.15 web/docs/observability.md",
	"barman_cloud_cloudnative_pg_io_last_failed_backup_timestamp":    "Barman Cloud Plugin 0.15 web/docs/observability.md",
}

// metricName finds the name in a client_golang Opts literal:
// prometheus.CounterOpts{Name: "http_requests_total", …}.
var metricName = regexp.MustCompile(`prometheus\.(?:Counter|Gauge|Histogram|Summary)Opts\{\s*(?:[^{}]*?,\s*)?Name:\s*"([a-zA-Z_:][a-zA-Z0-9_:]*)"`)

// runtimeCollectors are client_golang's collectors whose metrics carry a
// fixed prefix: registering one exports its family.
var runtimeCollectors = map[string]string{
	"go_":      "collectors.NewGoCollector(",
	"process_": "collectors.NewProcessCollector(",
}

// RegisteredMetrics returns the metric names the Go code under dir
// registers (tests excluded), and the prefixes of the runtime collectors it
// registers.
func RegisteredMetrics(dir string) (names map[string]bool, prefixes []string, err error) {
	names = map[string]bool{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range metricName.FindAllSubmatch(src, -1) {
			names[string(m[1])] = true
		}
		for prefix, call := range runtimeCollectors {
			if bytes.Contains(src, []byte(call)) && !slices.Contains(prefixes, prefix) {
				prefixes = append(prefixes, prefix)
			}
		}
		return nil
	})
	return names, prefixes, err
}

// CheckAlertRules parses a Prometheus rules file as Prometheus does
// (unknown fields refused, every expression and template checked) and
// reports each metric an expression selects that neither the services
// register (names, prefixes from RegisteredMetrics) nor externalMetrics
// lists. A histogram's _bucket, _sum and _count series count as its name.
func CheckAlertRules(rules []byte, names map[string]bool, prefixes []string) []string {
	p := parser.NewParser(parser.Options{})
	groups, errs := rulefmt.Parse(rules, false, model.UTF8Validation, p, slog.New(slog.DiscardHandler))
	var problems []string
	for _, err := range errs {
		problems = append(problems, err.Error())
	}
	if groups == nil {
		return problems
	}
	known := func(name string) bool {
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			base, ok := strings.CutSuffix(name, suffix)
			if ok && (names[base] || externalMetrics[base] != "") {
				return true
			}
		}
		return slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(name, p) })
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			expr, err := p.ParseExpr(r.Expr)
			if err != nil {
				continue // reported by rulefmt.Parse
			}
			parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
				if vs, ok := n.(*parser.VectorSelector); ok && !known(vs.Name) {
					problems = append(problems, fmt.Sprintf("%s/%s: no service exports the metric %q", g.Name, r.Alert, vs.Name))
				}
				return nil
			})
		}
	}
	return problems
}

// secretRef is one key of one Secret that a manifest reads.
type secretRef struct{ Name, Key string }

// generatedSecrets are made in the cluster rather than by the operator:
// CloudNativePG writes <cluster>-app with the application's credentials.
var generatedSecrets = map[string][]string{
	"tillpoint-pg-app": {"uri", "username", "password", "host", "port", "dbname", "pgpass", "jdbc-uri", "fqdn-uri", "fqdn-jdbc-uri"},
}

// CheckSecretRefs reports every Secret key the rendered overlays read that
// the example Secrets (examples) do not show, and every example key that no
// overlay reads, so that the example stays the complete list.
func CheckSecretRefs(examples []byte, overlays ...[]byte) ([]string, error) {
	docs, err := splitDocuments(examples)
	if err != nil {
		return nil, err
	}
	have := map[secretRef]bool{}
	for _, d := range docs {
		meta, _ := d["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		for _, field := range []string{"data", "stringData"} {
			m, _ := d[field].(map[string]any)
			for k := range m {
				have[secretRef{name, k}] = true
			}
		}
	}
	for name, keys := range generatedSecrets {
		for _, k := range keys {
			have[secretRef{name, k}] = true
		}
	}
	used := map[secretRef]bool{}
	for _, rendered := range overlays {
		resources, err := splitDocuments(rendered)
		if err != nil {
			return nil, err
		}
		for _, r := range resources {
			collectSecretRefs(r, "", used)
		}
	}
	var problems []string
	for ref := range used {
		if !have[ref] {
			problems = append(problems, fmt.Sprintf("the manifests read key %s of Secret %s, which the example Secrets lack", ref.Key, ref.Name))
		}
	}
	for ref := range have {
		if !used[ref] && generatedSecrets[ref.Name] == nil {
			problems = append(problems, fmt.Sprintf("the example Secret %s has a key %s that no manifest reads", ref.Name, ref.Key))
		}
	}
	sort.Strings(problems)
	return problems, nil
}

// collectSecretRefs finds env secretKeyRefs and CloudNativePG's
// SecretKeySelectors (s3Credentials' accessKeyId, secretAccessKey, …): any
// {name, key} map under secretKeyRef or under s3Credentials.
func collectSecretRefs(v any, parent string, out map[secretRef]bool) {
	switch v := v.(type) {
	case map[string]any:
		name, okName := v["name"].(string)
		key, okKey := v["key"].(string)
		if okName && okKey && (parent == "secretKeyRef" || strings.HasPrefix(parent, "s3Credentials.")) {
			out[secretRef{name, key}] = true
		}
		for k, child := range v {
			if parent == "s3Credentials" {
				k = "s3Credentials." + k
			}
			collectSecretRefs(child, k, out)
		}
	case []any:
		for _, child := range v {
			collectSecretRefs(child, parent, out)
		}
	}
}

// splitDocuments decodes a multi-document YAML stream.
func splitDocuments(stream []byte) ([]map[string]any, error) {
	var out []map[string]any
	for doc := range bytes.SplitSeq(stream, []byte("\n---")) {
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

package main

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

func schemaDir() string { return filepath.Join(root, "deploy", "schemas") }

func newValidator(t *testing.T) *Validator {
	t.Helper()
	val, err := NewValidator(schemaDir())
	if err != nil {
		t.Fatal(err)
	}
	return val
}

func render(t *testing.T, overlay string) []byte {
	t.Helper()
	out, err := Render(filepath.Join(root, "deploy", "k8s", "overlays", overlay))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The repository's manifests, values and rules pass every check.
func TestRepositoryPasses(t *testing.T) {
	problems, err := checkAll(root, t.TempDir(), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// kinds counts the resources of each kind in a rendered overlay.
func kinds(t *testing.T, rendered []byte) map[string]int {
	t.Helper()
	docs, err := splitDocuments(rendered)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, d := range docs {
		n[d["kind"].(string)]++
	}
	return n
}

// The overlays differ as documented: prod autoscales and backs up, dev
// runs one of everything.
func TestOverlaysDiffer(t *testing.T) {
	prod, dev := kinds(t, render(t, "prod")), kinds(t, render(t, "dev"))
	want := map[string][2]int{ // kind: {prod, dev}
		"Deployment":              {3, 3},
		"HorizontalPodAutoscaler": {3, 0},
		"PodDisruptionBudget":     {3, 3},
		"Job":                     {1, 1},
		"Cluster":                 {1, 1},
		"ObjectStore":             {1, 0},
		"ScheduledBackup":         {1, 0},
		"Ingress":                 {1, 1},
	}
	for kind, n := range want {
		if prod[kind] != n[0] || dev[kind] != n[1] {
			t.Errorf("%s: prod %d, dev %d; want %d, %d", kind, prod[kind], dev[kind], n[0], n[1])
		}
	}
	if !bytes.Contains(render(t, "dev"), []byte("instances: 1\n")) {
		t.Error("dev's Cluster does not run a single instance")
	}
	if bytes.Contains(render(t, "prod"), []byte("\n  replicas:")) {
		t.Error("a prod Deployment names its replicas, which every apply would reset under the autoscaler")
	}
}

// A manifest that is well-formed YAML but wrong for its kind fails the
// check, naming the resource and the place.
func TestBrokenManifestsFail(t *testing.T) {
	prod := string(render(t, "prod"))
	val := newValidator(t)
	cases := []struct {
		name, old, new, want string
	}{
		{"unknown field in a Deployment", "        readinessProbe:\n", "        readinessProbes: {}\n        readinessProbe:\n", "Deployment admin-api"},
		{"wrong type", "  maxReplicas: 6\n", "  maxReplicas: six\n", "HorizontalPodAutoscaler admin-api"},
		{"unknown field in a CloudNativePG Cluster", "  instances: 3\n", "  instances: 3\n  instance: 3\n", "Cluster tillpoint-pg"},
		{"unknown field in a ScheduledBackup", "  method: plugin\n", "  method: plugin\n  retention: 30d\n", "ScheduledBackup tillpoint-pg-nightly"},
		{"value outside a CRD enum", "  method: plugin\n", "  method: pg_dump\n", "ScheduledBackup tillpoint-pg-nightly"},
		{"duplicated key", "  minReplicas: 2\n", "  minReplicas: 2\n  minReplicas: 3\n", "minReplicas"},
		{"kind without a schema", "kind: Job\n", "kind: CronJob\n", "could not find schema for CronJob"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(prod, c.old) {
				t.Fatalf("the rendered prod overlay has no %q to break", c.old)
			}
			broken := strings.Replace(prod, c.old, c.new, 1)
			problems, _ := val.Validate("prod", []byte(broken))
			if len(problems) == 0 {
				t.Fatal("no problem reported")
			}
			if joined := strings.Join(problems, "\n"); !strings.Contains(joined, c.want) {
				t.Errorf("problems do not mention %q:\n%s", c.want, joined)
			}
		})
	}
}

// An overlay that kustomize cannot build is reported.
func TestBrokenOverlayFails(t *testing.T) {
	dir := t.TempDir()
	k := "resources:\n  - missing.yaml\n"
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Render(dir); err == nil {
		t.Fatal("an overlay naming a missing file rendered")
	}
}

func TestHelmValues(t *testing.T) {
	defaults, err := os.ReadFile(filepath.Join(schemaDir(), "nats", "values-2.14.2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, values, want string
	}{
		{"misspelt key", "config:\n  jetstream:\n    fileStorage: {enabled: true}\n", ".config.jetstream.fileStorage: not a value of the chart"},
		{"unknown top-level key", "replicas: 3\n", ".replicas: not a value of the chart"},
		{"map for a scalar", "config:\n  cluster:\n    replicas: {count: 3}\n", ".config.cluster.replicas: the chart expects"},
		{"free-form merge passes", "config:\n  jetstream:\n    merge: {sync_interval: always, anything: {goes: 1}}\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			problems, err := CheckHelmValues([]byte(c.values), defaults)
			if err != nil {
				t.Fatal(err)
			}
			joined := strings.Join(problems, "\n")
			if c.want == "" && joined != "" || !strings.Contains(joined, c.want) {
				t.Errorf("problems %q, want %q", joined, c.want)
			}
		})
	}
}

func TestAlertRules(t *testing.T) {
	names, prefixes, err := RegisteredMetrics(filepath.Join(root, "services"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"http_requests_total", "grpc_server_handled_total", "routing_breaker_transitions_total"} {
		if !names[m] {
			t.Errorf("RegisteredMetrics missed %s", m)
		}
	}
	rule := func(expr string) []byte {
		return []byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: " + expr + "\n")
	}
	cases := []struct {
		name  string
		rules []byte
		want  string
	}{
		{"histogram series of a registered metric", rule("histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m])) > 1"), ""},
		{"runtime collector metric", rule("go_goroutines > 1"), ""},
		{"metric nobody exports", rule("rate(webhook_deliveries_failed_total[5m]) > 0"), `no service exports the metric "webhook_deliveries_failed_total"`},
		{"broken PromQL", rule("rate(http_requests_total[5m] > 0"), "could not parse expression"},
		{"unknown rule field", []byte("groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: up == 0\n        severity: page\n"), "field severity not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			joined := strings.Join(CheckAlertRules(c.rules, names, prefixes), "\n")
			if c.want == "" && joined != "" || !strings.Contains(joined, c.want) {
				t.Errorf("problems %q, want %q", joined, c.want)
			}
		})
	}
}

func TestSecretRefs(t *testing.T) {
	examples := []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {A: x, B: y}\n")
	deployment := func(key string) []byte {
		return []byte("kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - env:\n            - {name: A, valueFrom: {secretKeyRef: {name: s, key: A}}}\n            - {name: X, valueFrom: {secretKeyRef: {name: s, key: " + key + "}}}\n")
	}
	problems, err := CheckSecretRefs(examples, deployment("B"))
	if err != nil || len(problems) != 0 {
		t.Fatalf("complete example: %v %v", problems, err)
	}
	problems, _ = CheckSecretRefs(examples, deployment("C"))
	joined := strings.Join(problems, "\n")
	for _, want := range []string{"key C of Secret s, which the example Secrets lack", "has a key B that no manifest reads"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems %q lack %q", joined, want)
		}
	}
}

// The schemas in the repository are exactly what schemagen makes of its
// sources (the Kubernetes release's OpenAPI document from the module proxy,
// the CRDs in crd-sources): nobody edited them by hand, and they can be
// made again.
func TestSchemasAreReproducible(t *testing.T) {
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./schemagen", "-out", out, "-crd-sources", filepath.Join(schemaDir(), "crd-sources"))
	cmd.Env = append(os.Environ(), "GOWORK=off")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("schemagen: %v\n%s", err, msg)
	}
	for _, sub := range []string{"kubernetes", "crd"} {
		want := readTree(t, filepath.Join(schemaDir(), sub))
		got := readTree(t, filepath.Join(out, sub))
		if len(got) != len(want) {
			t.Errorf("%s: schemagen makes %d files, the repository has %d", sub, len(got), len(want))
		}
		for name, content := range want {
			if !bytes.Equal(got[name], content) {
				t.Errorf("%s/%s differs from what schemagen makes: run it (see deploy/schemas/README.md)", sub, name)
			}
		}
	}
}

// readTree returns the files under dir by their path relative to it.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		files[rel], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

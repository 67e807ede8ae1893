// Command deploycheck is make deploy-check: it renders every overlay under
// deploy/k8s/overlays with kustomize and validates the result with
// kubeconform, strictly, against the schemas in deploy/schemas (Kubernetes
// 1.36 and the CloudNativePG CRDs; schemagen makes them); validates the
// example Secrets likewise and checks that they name every key the
// manifests read; checks the NATS Helm values against the pinned chart's
// values; and parses the Prometheus alert rules, checking that every metric
// they use exists. It exits 1 with one line per problem.
//
//	cd tools/deploycheck && GOWORK=off go run . -root ../.. [-out DIR]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	out := flag.String("out", "", "also write each rendered overlay to DIR/<overlay>.yaml")
	flag.Parse()
	problems, err := checkAll(*root, *out, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploycheck:", err)
		os.Exit(1)
	}
	for _, p := range problems {
		fmt.Println("PROBLEM", p)
	}
	if len(problems) > 0 {
		fmt.Printf("deploycheck: %d problems\n", len(problems))
		os.Exit(1)
	}
}

// checkAll runs every check on the repository at root, reporting progress
// to w, and returns the problems found; err is for a check that could not run.
func checkAll(root, out string, w io.Writer) ([]string, error) {
	deploy := filepath.Join(root, "deploy")
	val, err := NewValidator(filepath.Join(deploy, "schemas"))
	if err != nil {
		return nil, err
	}
	examples, err := os.ReadFile(filepath.Join(deploy, "k8s", "secrets.example.yaml"))
	if err != nil {
		return nil, err
	}
	problems, n := val.Validate("secrets.example.yaml", examples)
	fmt.Fprintf(w, "secrets.example.yaml: %d resources\n", n)

	overlays, err := filepath.Glob(filepath.Join(deploy, "k8s", "overlays", "*", "kustomization.yaml"))
	if err != nil || len(overlays) == 0 {
		return nil, fmt.Errorf("no overlays under %s", filepath.Join(deploy, "k8s", "overlays"))
	}
	var all [][]byte
	for _, k := range overlays {
		dir := filepath.Dir(k)
		name := filepath.Base(dir)
		rendered, err := Render(dir)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if out != "" {
			if err := os.WriteFile(filepath.Join(out, name+".yaml"), rendered, 0o644); err != nil {
				return nil, err
			}
		}
		p, n := val.Validate("overlay "+name, rendered)
		problems = append(problems, p...)
		all = append(all, rendered)
		fmt.Fprintf(w, "overlay %s: %d resources\n", name, n)
	}
	p, err := CheckSecretRefs(examples, all...)
	if err != nil {
		return nil, err
	}
	problems = append(problems, p...)

	p, err = checkNATSValues(deploy)
	if err != nil {
		return nil, err
	}
	problems = append(problems, p...)

	names, prefixes, err := RegisteredMetrics(filepath.Join(root, "services"))
	if err != nil {
		return nil, err
	}
	rules, err := os.ReadFile(filepath.Join(deploy, "monitoring", "alerts.yaml"))
	if err != nil {
		return nil, err
	}
	problems = append(problems, CheckAlertRules(rules, names, prefixes)...)
	fmt.Fprintf(w, "monitoring/alerts.yaml: checked against %d metrics the services register\n", len(names))
	return problems, nil
}

// checkNATSValues checks every values file in deploy/nats against the
// pinned chart's defaults (deploy/schemas/nats/values-<version>.yaml).
func checkNATSValues(deploy string) ([]string, error) {
	charts, err := filepath.Glob(filepath.Join(deploy, "schemas", "nats", "values-*.yaml"))
	if err != nil || len(charts) != 1 {
		return nil, fmt.Errorf("want one chart values file in deploy/schemas/nats, found %d", len(charts))
	}
	defaults, err := os.ReadFile(charts[0])
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(deploy, "nats", "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no values files in %s", filepath.Join(deploy, "nats"))
	}
	var problems []string
	for _, f := range files {
		values, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		p, err := CheckHelmValues(values, defaults)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		for _, line := range p {
			problems = append(problems, filepath.Base(f)+": "+line)
		}
	}
	return problems, nil
}

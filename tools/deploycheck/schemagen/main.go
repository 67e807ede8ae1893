// Command schemagen writes the JSON schemas that make deploy-check validates
// the manifests against (deploy/schemas), in kubeconform's layout:
//
//   - kubernetes/<kind>-<group>-<version>.json, for the built-in kinds the
//     manifests use, from the OpenAPI document (api/openapi-spec/swagger.json)
//     of the Kubernetes release kubernetesModule names, which the Go module
//     proxy serves like any module (`go mod download`);
//   - crd/<group>/<kind>_<version>.json, from the CustomResourceDefinitions
//     kept in deploy/schemas/crd-sources (their origin is in
//     deploy/schemas/README.md).
//
// Every schema is standalone (references inlined) and strict: an object that
// lists its properties admits no others, as `kubectl apply
// --validate=strict` would refuse them. The output is deterministic; a test
// of make deploy-check regenerates it and compares. Run:
//
//	cd tools/deploycheck && GOWORK=off go run ./schemagen -out ../../deploy/schemas
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"
)

// kubernetesModule is the Kubernetes release whose API the manifests are
// validated against: the oldest minor version an operator should run them
// on. Changing it and rerunning schemagen is the whole upgrade.
const kubernetesModule = "k8s.io/kubernetes@v1.36.3"

// builtinKinds are the built-in kinds the manifests use; a kind missing
// here fails deploy-check with "could not find schema", so add it when a
// manifest starts using one.
var builtinKinds = []gvk{
	{"", "v1", "ConfigMap"},
	{"", "v1", "Secret"},
	{"", "v1", "Service"},
	{"apps", "v1", "Deployment"},
	{"batch", "v1", "Job"},
	{"policy", "v1", "PodDisruptionBudget"},
	{"autoscaling", "v2", "HorizontalPodAutoscaler"},
	{"networking.k8s.io", "v1", "NetworkPolicy"},
	{"networking.k8s.io", "v1", "Ingress"},
}

type gvk struct{ Group, Version, Kind string }

func main() {
	out := flag.String("out", "deploy/schemas", "the schema directory: kubernetes/ and crd/ are written there")
	sources := flag.String("crd-sources", "", "the CRDs to convert (default: crd-sources in -out)")
	flag.Parse()
	if *sources == "" {
		*sources = filepath.Join(*out, "crd-sources")
	}
	if err := run(*out, *sources); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(out, crdSources string) error {
	if err := writeBuiltins(filepath.Join(out, "kubernetes")); err != nil {
		return err
	}
	return writeCRDs(crdSources, filepath.Join(out, "crd"))
}

// writeBuiltins converts builtinKinds from the release's swagger.json.
func writeBuiltins(dir string) error {
	doc, err := downloadSwagger()
	if err != nil {
		return err
	}
	var swagger struct {
		Definitions map[string]map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(doc, &swagger); err != nil {
		return fmt.Errorf("swagger.json: %w", err)
	}
	if err := resetDir(dir); err != nil {
		return err
	}
	for _, k := range builtinKinds {
		name, def := findDefinition(swagger.Definitions, k)
		if def == nil {
			return fmt.Errorf("%s %s/%s is not in %s", k.Kind, k.Group, k.Version, kubernetesModule)
		}
		c := converter{defs: swagger.Definitions}
		schema := c.convert(map[string]any{"$ref": "#/definitions/" + name}, nil)
		if err := writeJSON(filepath.Join(dir, k.fileName()), schema); err != nil {
			return err
		}
	}
	return nil
}

// fileName is kubeconform's name for k's schema,
// {{.ResourceKind}}{{.KindSuffix}}.json: "deployment-apps-v1.json",
// "networkpolicy-networking-v1.json", "configmap-v1.json".
func (k gvk) fileName() string {
	suffix := "-" + k.Version
	if k.Group != "" {
		suffix = "-" + strings.Split(k.Group, ".")[0] + suffix
	}
	return strings.ToLower(k.Kind) + suffix + ".json"
}

// downloadSwagger reads api/openapi-spec/swagger.json from the Kubernetes
// module, downloaded through the Go module proxy into the module cache.
func downloadSwagger() ([]byte, error) {
	cmd := exec.Command("go", "mod", "download", "-json", kubernetesModule)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go mod download %s: %w", kubernetesModule, err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(raw, &mod); err != nil || mod.Dir == "" {
		return nil, fmt.Errorf("go mod download %s printed no module directory", kubernetesModule)
	}
	return os.ReadFile(filepath.Join(mod.Dir, "api", "openapi-spec", "swagger.json"))
}

// findDefinition returns the definition tagged with k's group, version and kind.
func findDefinition(defs map[string]map[string]any, k gvk) (string, map[string]any) {
	for name, def := range defs {
		tags, _ := def["x-kubernetes-group-version-kind"].([]any)
		for _, t := range tags {
			m, _ := t.(map[string]any)
			if m["group"] == k.Group && m["version"] == k.Version && m["kind"] == k.Kind {
				return name, def
			}
		}
	}
	return "", nil
}

// writeCRDs converts every CustomResourceDefinition in src, one schema per
// served version.
func writeCRDs(src, dir string) error {
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in %s", src)
	}
	if err := resetDir(dir); err != nil {
		return err
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd struct {
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Served bool   `json:"served"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			var c converter
			schema := c.convert(v.Schema.OpenAPIV3Schema, nil)
			name := filepath.Join(dir, crd.Spec.Group, strings.ToLower(crd.Spec.Names.Kind)+"_"+v.Name+".json")
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			if err := writeJSON(name, schema); err != nil {
				return err
			}
		}
	}
	return nil
}

// converter turns an OpenAPI schema (a swagger definition or a CRD's
// openAPIV3Schema) into a standalone strict JSON schema.
type converter struct {
	defs map[string]map[string]any
}

// refPrefix starts every reference in swagger.json.
const refPrefix = "#/definitions/"

// convert returns a converted copy of s. seen holds the definitions being
// inlined above s, so that a recursive type (none among builtinKinds) is
// cut off as "any object" rather than inlined forever.
func (c *converter) convert(s map[string]any, seen []string) map[string]any {
	if ref, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, refPrefix)
		switch name {
		case "io.k8s.apimachinery.pkg.util.intstr.IntOrString":
			return intOrString()
		case "io.k8s.apimachinery.pkg.api.resource.Quantity":
			// "500m" or 2: YAML gives a number when the quantity has no unit.
			return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
		}
		if slices.Contains(seen, name) || c.defs[name] == nil {
			return map[string]any{}
		}
		return c.convert(c.defs[name], append(seen, name))
	}
	if s["x-kubernetes-int-or-string"] == true {
		return intOrString()
	}
	out := map[string]any{}
	for k, v := range s {
		switch k {
		case "description", "example", "externalDocs", "default":
			// Documentation only; a default is applied by the server,
			// never checked.
		case "properties", "patternProperties":
			props := map[string]any{}
			for name, p := range v.(map[string]any) {
				props[name] = c.convert(p.(map[string]any), seen)
			}
			out[k] = props
		case "items", "not":
			if m, ok := v.(map[string]any); ok {
				out[k] = c.convert(m, seen)
			}
		case "additionalProperties":
			if m, ok := v.(map[string]any); ok {
				out[k] = c.convert(m, seen)
			} else {
				out[k] = v
			}
		case "allOf", "anyOf", "oneOf":
			var list []any
			for _, p := range v.([]any) {
				list = append(list, c.convert(p.(map[string]any), seen))
			}
			out[k] = list
		case "nullable":
			// Folded into type below.
		default:
			if !strings.HasPrefix(k, "x-") {
				out[k] = v
			}
		}
	}
	if _, props := out["properties"]; props && out["additionalProperties"] == nil && s["x-kubernetes-preserve-unknown-fields"] != true {
		out["additionalProperties"] = false
	}
	if t, ok := out["type"].(string); ok && s["nullable"] == true {
		out["type"] = []any{t, "null"}
	}
	return out
}

// intOrString is the schema of a field that takes a number or a string
// ("8080" or "http", "25%" or 1).
func intOrString() map[string]any {
	return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
}

func resetDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}

// writeJSON writes v indented with sorted keys, so that a rerun on the same
// inputs changes nothing.
func writeJSON(name string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(v); err != nil {
		return errors.Join(fmt.Errorf("%s", name), err)
	}
	return os.WriteFile(name, buf.Bytes(), 0o644)
}

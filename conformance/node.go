package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// NodeReference is Node with the original isotropic-cluster: the live
// reference a run compares isowasm with.
type NodeReference struct {
	// Node is the node executable.
	Node string
	// Version is what `node --version` says.
	Version string
	// Modules is the node_modules folder that holds isotropic-cluster (and
	// its dependencies); scenario copies get it as their node_modules.
	Modules string
	// Package is the isotropic-cluster version found there.
	Package string
}

// ErrNoReference is a live reference that cannot run here; the error says
// what to install.
var ErrNoReference = errors.New("conformance: no live reference")

// FindNode looks for node on PATH and for isotropic-cluster in dir's
// node_modules (dir may also be the node_modules folder itself). The
// error, an ErrNoReference, says exactly what to install.
func FindNode(ctx context.Context, dir string) (*NodeReference, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("%w: node is not installed (or not on PATH): install Node.js 20 or later (https://nodejs.org, or apt-get install nodejs), then npm install isotropic-cluster@0.5.0 in a folder and pass it with --node-modules DIR", ErrNoReference)
	}
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("%w: %s --version: %v", ErrNoReference, node, err)
	}
	ref := &NodeReference{Node: node, Version: strings.TrimSpace(string(out))}
	modules, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoReference, err)
	}
	if filepath.Base(modules) != "node_modules" {
		modules = filepath.Join(modules, "node_modules")
	}
	pkg, err := os.ReadFile(filepath.Join(modules, "isotropic-cluster", "package.json"))
	if err != nil {
		return nil, fmt.Errorf("%w: isotropic-cluster is not in %s: run `npm install isotropic-cluster@0.5.0` in %s (or pass the folder that has it with --node-modules DIR)", ErrNoReference, modules, filepath.Dir(modules))
	}
	ref.Modules = modules
	ref.Package = packageVersion(pkg)
	return ref, nil
}

// packageVersion is the "version" of a package.json, "" when it has none.
func packageVersion(pkg []byte) string {
	var p struct{ Version string }
	_ = json.Unmarshal(pkg, &p)
	return p.Version
}

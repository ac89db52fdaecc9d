package main

import (
	"os/exec"
	"strings"
	"testing"
)

// rawserve talks to the kernel through golang.org/x/sys/unix, never through
// package net: no non-test package may depend on it, even indirectly.
func TestNoNetDependency(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/rawserve/rawserve/cmd/...", "github.com/rawserve/rawserve/internal/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps listed only %v", deps)
	}
	for _, d := range deps {
		switch d {
		case "net", "net/http", "net/netip", "net/textproto", "net/url":
			t.Errorf("non-test code depends on %s", d)
		}
	}
}

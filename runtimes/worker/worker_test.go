package worker

import (
	"reflect"
	"strings"
	"testing"
)

func TestWorkerProcs(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want int
	}{
		{map[string]string{}, 1},
		{map[string]string{"GOMAXPROCS": "4"}, 0},
	}
	for _, tt := range tests {
		if got := workerProcs(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("workerProcs(%v) = %d, want %d", tt.env, got, tt.want)
		}
	}
}

func TestKind(t *testing.T) {
	tests := []struct {
		script, want string
		ok           bool
	}{
		{"a.js", "js", true}, {"a.mjs", "js", true}, {"a.cjs", "js", true}, {"a.ts", "js", true},
		{"a.mts", "js", true}, {"a.WASM", "wasm", true}, {"a.py", "", false}, {"noext", "", false},
	}
	for _, tt := range tests {
		got, err := Kind(tt.script)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("Kind(%q) = %q, %v", tt.script, got, err)
		}
	}
}

// Options travel to the worker process in its environment and come back
// as they were; a bad grant is refused before any worker starts.
func TestOptionsEnviron(t *testing.T) {
	o := Options{
		AllowDirs:   []string{"/a", "/b:/c:ro"},
		AllowListen: []string{":8080", "127.0.0.1:9000-9009"},
		GuestEnv:    []string{"A=1", "MULTI=line one\nline two", "EMPTY="},
		MemoryPages: 32,
		MaxHeap:     64 << 20,
	}
	env, err := o.Environ()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	got, err := optionsFromEnv(func(k string) string { return m[k] })
	if err != nil || !reflect.DeepEqual(got, o) {
		t.Fatalf("round trip: %+v, %v\nwant %+v", got, err, o)
	}
	if none, err := (Options{}).Environ(); err != nil || len(none) != 0 {
		t.Errorf("no options: %v, %v", none, err)
	}
	for _, bad := range []Options{
		{AllowDirs: []string{"/a:/b:/c"}},
		{AllowDirs: []string{"/a\nb"}},
		{AllowListen: []string{"8080"}},
		{AllowListen: []string{":9000-8000"}},
		{GuestEnv: []string{"NOVALUE"}},
	} {
		if _, err := bad.Environ(); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
	m[EnvMemoryPages] = "lots"
	if _, err := optionsFromEnv(func(k string) string { return m[k] }); err == nil {
		t.Error("a bad page count was accepted")
	}
}

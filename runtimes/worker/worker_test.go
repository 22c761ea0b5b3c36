package worker

import "testing"

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

func TestWasmOptionsFromEnv(t *testing.T) {
	env := map[string]string{EnvAllowDirs: "/a\n/b:/c", EnvMemoryPages: "32"}
	o, err := wasmOptionsFromEnv(func(k string) string { return env[k] })
	if err != nil || len(o.allowDirs) != 2 || o.allowDirs[1] != "/b:/c" || o.memoryPages != 32 {
		t.Fatalf("%+v %v", o, err)
	}
	env[EnvMemoryPages] = "lots"
	if _, err := wasmOptionsFromEnv(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a bad page count was accepted")
	}
}

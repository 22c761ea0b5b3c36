package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/isowasm/isowasm/runtimes/worker"
)

// The test binary is the workers' executable too, as the program is.
func TestMain(m *testing.M) {
	if isWorker, code := worker.Main(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); isWorker {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

func TestTasksAreSpreadAndAnswered(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), defaultScript(), 3, 12, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	text := out.String()
	for id := 1; id <= 12; id++ {
		want := fmt.Sprintf("task %2d: sum 1..%d = %d (worker ", id, id, id*(id+1)/2)
		if !strings.Contains(text, want) {
			t.Errorf("missing %q", want)
		}
	}
	for id := 1; id <= 3; id++ {
		if !strings.Contains(text, fmt.Sprintf("worker %d did ", id)) {
			t.Errorf("worker %d did no task", id)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

package worker

import (
	"context"
	"os"
	"testing"
)

// envTestWorker makes the test binary a worker process (the os/exec
// TestMain pattern): Main with this process's arguments and environment,
// as the isowasm binary's worker mode runs it.
const envTestWorker = "ISOWASM_TEST_WORKER_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envTestWorker) == "1" {
		_, code := Main(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

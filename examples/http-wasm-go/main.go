// Command http-wasm-go is the isotropic-cluster README's "HTTP Server with
// Worker Processes" as a compiled worker in Go: every worker listens on the
// same port (PORT, default 3000) and answers each request with its id. The
// cluster shares the port; the primary sees each worker as listening.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o worker.wasm .
//	isowasm run --workers 4 worker.wasm
package main

import (
	"os"
	"strconv"

	isowasm "github.com/isowasm/isowasm/hostabi/guest/go"
)

// A reactor never runs main: the worker is made and wired in init.
func main() {}

func init() {
	w := isowasm.NewWorker(nil)
	id := strconv.Itoa(isowasm.WorkerID())
	hello := "Hello from worker " + id

	isowasm.HandleHTTP(func(req *isowasm.Request) isowasm.Response {
		return isowasm.Text(200, hello)
	})

	w.After(isowasm.InitializeComplete, func(*isowasm.Event) {
		port := 3000
		if p, err := strconv.Atoi(os.Getenv("PORT")); err == nil {
			port = p
		}
		if _, err := isowasm.ListenHTTP(port, ""); err != nil {
			isowasm.LogError(err.Error())
			isowasm.Exit(1)
		}
		isowasm.Log("Worker " + id + " listening on port " + strconv.Itoa(port))
	})

	// The host closes the servers when the primary asks the worker to
	// disconnect (as Node's cluster does); requests in progress finish.
	w.On(isowasm.PrimaryDisconnect, func(*isowasm.Event) {
		isowasm.Log("Primary asked worker " + id + " to disconnect, server closed")
	})
}

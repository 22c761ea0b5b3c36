// Command wasm-go-module is an isowasm worker in a Go module of its own
// that depends on the guest SDK through a replace line (see README.md): it
// decodes each "task" message into a Go struct and answers with the
// result, and logs the message as JSON.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o worker.wasm .
package main

import (
	"encoding/json"

	isowasm "github.com/isowasm/isowasm/hostabi/guest/go"
)

// A reactor never runs main: the worker is made and wired in init.
func main() {}

// task is the message {type: 'task', id, numbers: [...]}.
type task struct {
	ID      int       `cbor:"id"`
	Numbers []float64 `cbor:"numbers"`
}

func init() {
	w := isowasm.NewWorker(nil)
	w.OnType("task", func(e *isowasm.Event) {
		var t task
		if err := e.Decode(&t); err != nil {
			w.Send(isowasm.Obj("type", "error", "message", err.Error()))
			return
		}
		sum := 0.0
		for _, n := range t.Numbers {
			sum += n
		}
		text, _ := json.Marshal(e.Message)
		isowasm.Log("task " + string(text))
		w.Send(isowasm.Obj("type", "result", "id", t.ID, "sum", sum, "json", string(text)))
	})
}

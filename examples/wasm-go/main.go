// Command wasm-go is an isowasm worker written in Go and compiled to
// WebAssembly: it answers the primary's messages the way the reference
// scenarios' JS workers do (see README.md for the messages it knows).
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o worker.wasm .
package main

import isowasm "github.com/isowasm/isowasm/hostabi/guest/go"

// A reactor never runs main: the worker is made and wired in init.
func main() {}

func init() {
	w := isowasm.NewWorker(nil)

	// Every message, before its typed handler runs (scenario 08).
	var primaryMessages []any
	w.On(isowasm.PrimaryMessage, func(e *isowasm.Event) {
		primaryMessages = append(primaryMessages, e.Message)
	})

	w.After(isowasm.PrimaryMessage, func(e *isowasm.Event) {
		switch m := e.Message.(type) {
		case isowasm.Object:
			// Untyped: {count: n} → {count: n + 1} (scenario 07).
			if n, ok := m.Get("count").(float64); ok && m.Get("type") == nil {
				w.Send(isowasm.Obj("count", n+1))
			}
		case string:
			// Scenario 15's replace worker.
			switch m {
			case "destroy":
				w.Destroy(-1)
			case "exit":
				isowasm.Exit(0)
			case "throw":
				panic("Throwing an error on purpose")
			}
		}
	})

	// Scenario 08's typed worker: a→x, b→y, c→z, replyUnknown→unknown,
	// each reply carrying every primary message seen so far.
	reply := func(message any, typ string, extra ...any) {
		w.Send(append(isowasm.Obj("message", message, "primaryMessages", primaryMessages, "type", typ), isowasm.Obj(extra...)...))
	}
	w.OnType("a", func(e *isowasm.Event) { reply(e.Message, "x", "x", "x") })
	w.OnType("b", func(e *isowasm.Event) { reply(e.Message, "y", "y", "y") })
	w.OnType("c", func(e *isowasm.Event) { reply(e.Message, "z", "z", "z") })
	w.OnType("replyUnknown", func(e *isowasm.Event) { reply(e.Message, "unknown") })

	w.OnType("ping", func(e *isowasm.Event) {
		w.Send(isowasm.Obj("type", "pong", "workerId", w.WorkerID()))
	})
	w.OnType("echo", func(e *isowasm.Event) {
		w.Send(e.Message)
	})
	w.OnType("timer", func(e *isowasm.Event) {
		delay := int(e.Message.(isowasm.Object).Number("delay"))
		isowasm.SetTimeout(delay, func() {
			w.Send(isowasm.Obj("type", "timer", "fired", true))
		})
	})
	w.OnType("destroy", func(e *isowasm.Event) {
		w.Destroy(int(e.Message.(isowasm.Object).Number("timeout")))
	})
	w.OnType("exit", func(e *isowasm.Event) {
		isowasm.Exit(int(e.Message.(isowasm.Object).Number("code")))
	})
	w.OnType("trap", func(e *isowasm.Event) {
		panic("Throwing an error on purpose")
	})
	w.OnType("recurse", func(e *isowasm.Event) {
		w.Send(isowasm.Obj("depth", recurse(1)))
	})
	w.OnType("garbage", func(e *isowasm.Event) {
		err := isowasm.SendCBOR([]byte{0xff, 0x00})
		status := 0
		if se, ok := err.(*isowasm.Error); ok {
			if st, ok := se.Err.(*isowasm.StatusError); ok {
				status = int(st.Status)
			}
		}
		w.Send(isowasm.Obj("type", "garbage", "status", status))
	})
}

//go:noinline
func recurse(n int) int {
	var pad [64]byte
	pad[n%64] = byte(n)
	return recurse(n+1) + int(pad[(n+1)%64])
}

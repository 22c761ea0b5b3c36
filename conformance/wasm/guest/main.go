// Command guest is the conformance suite's compiled worker: the reference
// scenarios' worker.js behaviours, written with the Go guest SDK, so that
// each scenario's unmodified primary.js can drive Wasm workers (see
// ../../README.md, "Wasm versions"). The suite tells it which scenario it
// is in through ISOWASM_CONFORMANCE_SCENARIO (the primary's environment,
// which every worker inherits); the behaviour for each is the one of that
// scenario's worker.js, line for line where the SDK allows.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o guest.wasm .
package main

import (
	"syscall"

	isowasm "github.com/isowasm/isowasm/hostabi/guest/go"
)

// A reactor never runs main: the worker is made and wired in init.
func main() {}

func init() {
	scenario, _ := syscall.Getenv("ISOWASM_CONFORMANCE_SCENARIO")
	switch scenario {
	case "07-communicate", "11-reject-invalid-destination", "13-multiple-workers":
		communicate(scenario == "07-communicate")
	case "08-typed-routing", "09-untyped-unknown-ignored":
		typed()
	case "10-send-by-worker-id":
		identify()
	case "12-early-send":
		// process.send('not ready') before the ClusterWorker exists.
		isowasm.Send("not ready")
		isowasm.NewWorker(nil)
	case "15-replace-dead-worker", "16-no-replace-after-shutdown", "17-round-robin":
		replace()
	case "a-broadcast-ready-only":
		broadcastReadyOnly()
	case "b-send-mixed-array":
		w := isowasm.NewWorker(nil)
		w.After(isowasm.PrimaryMessage, func(e *isowasm.Event) {
			w.Send(isowasm.Obj("echo", e.Message, "from", w.WorkerID()))
		})
	case "c-send-to-exited-worker":
		sendToExited()
	case "d-worker-send-after-disconnect":
		sendAfterDisconnect()
	default:
		isowasm.LogError("conformance guest: no behaviour for scenario " + quote(scenario) + " (ISOWASM_CONFORMANCE_SCENARIO)")
		isowasm.Exit(1)
	}
}

// communicate answers {count: n} with {count: n + 1}; in 07 it also sends
// once more after the primary disconnected (refused: the channel is closed).
func communicate(sendAfterDisconnect bool) {
	w := isowasm.NewWorker(nil)
	w.After(isowasm.PrimaryMessage, func(e *isowasm.Event) {
		var count float64
		if m, ok := e.Message.(isowasm.Object); ok {
			count = m.Number("count")
		}
		w.Send(isowasm.Obj("count", count+1))
	})
	if sendAfterDisconnect {
		w.After(isowasm.PrimaryDisconnect, func(*isowasm.Event) {
			_ = w.Send("message") // "Error sending message to primary"
		})
	}
}

// typed is 08/09's _make subclass: a→x, b→y, c→z, replyUnknown→unknown,
// each reply carrying every primary message seen so far (recorded in
// 'on primaryMessage', before the typed handler runs).
func typed() {
	w := isowasm.NewWorker(nil)
	primaryMessages := []any{}
	w.On(isowasm.PrimaryMessage, func(e *isowasm.Event) {
		primaryMessages = append(primaryMessages, e.Message)
	})
	reply := func(message any, typ string, extra ...any) {
		w.Send(append(isowasm.Obj("message", message, "primaryMessages", primaryMessages, "type", typ), isowasm.Obj(extra...)...))
	}
	w.OnType("a", func(e *isowasm.Event) { reply(e.Message, "x", "x", "x") })
	w.OnType("b", func(e *isowasm.Event) { reply(e.Message, "y", "y", "y") })
	w.OnType("c", func(e *isowasm.Event) { reply(e.Message, "z", "z", "z") })
	w.OnType("replyUnknown", func(e *isowasm.Event) { reply(e.Message, "unknown") })
}

// identify answers 'identify' with its worker id; workerProperty stands for
// `ClusterWorker.worker === cluster.worker`, which has no Wasm counterpart
// and is true by construction.
func identify() {
	w := isowasm.NewWorker(nil)
	w.After(isowasm.PrimaryMessage, func(e *isowasm.Event) {
		if e.Message == "identify" {
			w.Send(isowasm.Obj("workerId", w.WorkerID(), "workerProperty", true))
		}
	})
}

// replace is 15-17's worker: 'destroy' → destroy() (6765 ms grace),
// 'exit' → process.exit(0), 'throw' → an uncaught error (a panic: exit 1).
func replace() {
	w := isowasm.NewWorker(nil)
	w.After(isowasm.PrimaryMessage, func(e *isowasm.Event) {
		switch e.Message {
		case "destroy":
			w.Destroy(-1)
		case "exit":
			isowasm.Exit(0)
		case "throw":
			panic("Throwing an error on purpose")
		}
	})
}

// broadcastReadyOnly: workers 1-3 answer {got, pong: id}; worker 4 makes no
// ClusterWorker, so it never sends 'ready' (and receives nothing).
func broadcastReadyOnly() {
	if isowasm.WorkerID() == 4 {
		return
	}
	w := isowasm.NewWorker(nil)
	w.After(isowasm.PrimaryMessage, func(e *isowasm.Event) {
		w.Send(isowasm.Obj("got", e.Message, "pong", w.WorkerID()))
	})
}

// sendToExited: 'exit' → process.exit(0); 'graceful-disconnect' → its own
// cluster.worker.disconnect(), then exits 1500 ms later on its own timer.
func sendToExited() {
	w := isowasm.NewWorker(nil)
	w.After(isowasm.PrimaryMessage, func(e *isowasm.Event) {
		switch e.Message {
		case "exit":
			isowasm.Exit(0)
		case "graceful-disconnect":
			_ = isowasm.Disconnect()
			isowasm.SetTimeout(1500, func() { isowasm.Exit(0) })
		}
	})
}

// sendAfterDisconnect: a normal send once initialized, then two after
// primaryDisconnect (at once and 20 ms later), both refused.
func sendAfterDisconnect() {
	w := isowasm.NewWorker(nil)
	w.After(isowasm.InitializeComplete, func(*isowasm.Event) {
		w.Send(isowasm.Obj("hello", "primary"))
	})
	w.After(isowasm.PrimaryDisconnect, func(*isowasm.Event) {
		_ = w.Send("late-1")
		isowasm.SetTimeout(20, func() { _ = w.Send("late-2") })
	})
}

func quote(s string) string { return "'" + s + "'" }

//go:build !wasip1

package isowasm

// Off wasip1 the host is simulated, so that the SDK's logic can be tested
// with go test on the build machine: sends are recorded, timers are kept
// for the test to fire.

var fakeHost struct {
	workerID  int32
	sent      [][]byte
	logs      []string
	timers    map[int32]int32 // id → delay
	lastTimer int32
	closed    bool
	destroyMS int32
	exitCode  int32
	exited    bool
}

func sendBytes(b []byte) int32 {
	if fakeHost.closed {
		return -1
	}
	fakeHost.sent = append(fakeHost.sent, append([]byte(nil), b...))
	return 0
}

func hostWorkerID() int32 { return fakeHost.workerID }

func hostSetTimer(delayMS int32) int32 {
	if fakeHost.timers == nil {
		fakeHost.timers = map[int32]int32{}
	}
	fakeHost.lastTimer++
	fakeHost.timers[fakeHost.lastTimer] = delayMS
	return fakeHost.lastTimer
}

func hostClearTimer(id int32) int32 {
	if _, ok := fakeHost.timers[id]; ok {
		delete(fakeHost.timers, id)
		return 1
	}
	return 0
}

func logText(level int32, s string) { fakeHost.logs = append(fakeHost.logs, s) }

func hostDisconnect() int32 {
	if fakeHost.closed {
		return -1
	}
	fakeHost.closed = true
	return 0
}

func hostDestroy(timeoutMS int32) int32 {
	fakeHost.destroyMS = timeoutMS
	fakeHost.closed = true
	return 0
}

func procExit(code int32) {
	fakeHost.exitCode, fakeHost.exited = code, true
	panic(exitPanic{code})
}

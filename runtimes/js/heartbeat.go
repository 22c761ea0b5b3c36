package js

// Heartbeat answers the primary's heartbeat (host.Heartbeater) from the
// event loop: ack runs as a posted event between two macrotasks, so a
// script that keeps the loop busy (an endless loop, a long synchronous
// computation) stops answering and the primary kills and replaces it.
func (h channelHandler) Heartbeat(ack func()) {
	h.r.loop.post(ack)
}

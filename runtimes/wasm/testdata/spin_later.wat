;; Says ready, then spins for good in a timer 100 ms later: a hung worker
;; for the primary's heartbeat to find.
(module
  (import "isowasm" "set_timer" (func $set_timer (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "isowasm_abi_v1"))
  (func (export "isowasm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "isowasm_init") (result i32)
    (drop (call $set_timer (i32.const 100)))
    (i32.const 0))
  (func (export "isowasm_on_timer") (param i32)
    (loop $spin (br $spin)))
  (func (export "isowasm_on_message") (param i32 i32)))

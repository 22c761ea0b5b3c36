;; Echoes every message, except a one-byte one: then it spins for good, so
;; its loop stops answering the primary's heartbeats.
(module
  (import "isowasm" "send" (func $send (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "isowasm_abi_v1"))
  (func (export "isowasm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "isowasm_on_message") (param i32 i32)
    (if (i32.eq (local.get 1) (i32.const 1))
      (then (loop $spin (br $spin))))
    (drop (call $send (local.get 0) (local.get 1)))))

;; isowasm_init asks the host not to say ready; the guest says "not ready".
(module
  (import "isowasm" "send" (func $send (param i32 i32) (result i32)))
  (data (i32.const 16) "\69not ready")
  (memory (export "memory") 1)
  (func (export "isowasm_abi_v1"))
  (func (export "isowasm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "isowasm_init") (result i32)
    (drop (call $send (i32.const 16) (i32.const 10)))
    (i32.const 2))
  (func (export "isowasm_on_message") (param i32 i32)))

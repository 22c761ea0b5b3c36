;; Traps on any message.
(module
  (memory (export "memory") 1)
  (func (export "isowasm_abi_v1"))
  (func (export "isowasm_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "isowasm_on_message") (param i32 i32) unreachable))

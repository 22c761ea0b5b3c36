;; isowasm_alloc returns a pointer outside the memory.
(module
  (memory (export "memory") 1)
  (func (export "isowasm_abi_v1"))
  (func (export "isowasm_alloc") (param i32) (result i32) (i32.const 70000))
  (func (export "isowasm_on_message") (param i32 i32)))

// Helpers shared by the tests (and the scripts and benchmarks that drive the stack).
export * from "./wait";
export * from "./seed";
export * from "./operations";

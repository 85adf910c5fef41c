// Placement: planning a split or merge, choosing default targets, previewing what the server will
// decide. The server (submit, the validate step, Provision's reservation), the web dialogs and the
// CLI all call these; nothing else implements a placement rule.
export * from "./plan";
export * from "./problems";
export * from "./targets";
export * from "./preview";

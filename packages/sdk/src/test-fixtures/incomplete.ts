// Looks like an application but lacks pieces: loadApplicationModules must name them.
export const almost = { kind: "almost", version: "1", behaviors: {} };

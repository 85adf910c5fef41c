export * from "./submit";

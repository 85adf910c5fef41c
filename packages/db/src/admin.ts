export * from "./migrate";
export * from "./embedded-postgres";
export * from "./testing";

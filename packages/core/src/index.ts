export * from "./errors";
export * from "./resources";
export * from "./capacity";
export * from "./hosts";
export * from "./placement";
export * from "./operation-state";
export * from "./inputs";
export * from "./plan";

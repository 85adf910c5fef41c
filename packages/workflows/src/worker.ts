export * from "./effects";
export * from "./operation-workflow";

export { Mediator, type ActorInfo, type ActorSpec, type MediatorOptions, type ProgressEvent, type TheaterInfo } from "./mediator";
export { messagesInFlight } from "./consistent-cut";

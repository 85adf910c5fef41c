export {
  Mediator,
  type ActorInfo,
  type ActorSpec,
  type MediatorOptions,
  type ProgressEvent,
  type TheaterInfo,
  type TheaterSecretStore,
  type TheaterSecrets,
} from "./mediator";
export { describeInFlight, inFlightPairs, messagesInFlight, type InFlightPair } from "./consistent-cut";

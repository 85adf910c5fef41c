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
export { countersOf, describeInFlight, inFlightPairs, messagesInFlight, type InFlightPair } from "./consistent-cut";

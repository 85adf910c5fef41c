export type { ActorBehavior, ActorContext, BehaviorRegistry } from "./behavior";
export {
  BALLAST_BEHAVIOR,
  ballastBehavior,
  type BallastState,
  CHATTER_BEHAVIOR,
  ECHO_BEHAVIOR,
  PINGER_BEHAVIOR,
  RECORDER_BEHAVIOR,
  builtinBehaviors,
  chatterBehavior,
  echoBehavior,
  pingerBehavior,
  recorderBehavior,
  type ChatterInit,
  type ChatterMessage,
  type ChatterState,
  type PingMessage,
  type PingerInit,
  type PingerState,
  type RecorderState,
} from "./builtin-behaviors";
export { Channel, ChannelClosedError, RemoteError, RequestTimeoutError, type ChannelHandlers, type RawPayload } from "./channel";
export {
  ChunkedBytes,
  FRAME_HEADER_BYTES,
  FrameDecoder,
  FrameTooLargeError,
  FrameWithPayload,
  JSON_FRAME_FLAG,
  MAX_FRAME_PAYLOAD_BYTES,
  MAX_MESSAGE_FRAME_BYTES,
  MAX_THEATER_REPLY_FRAME_BYTES,
  RAW_PAYLOAD_FLAG,
  UNTRUSTED_MAX_FRAME_PAYLOAD_BYTES,
  encodeFrame,
  encodeFrameHead,
  encodeJsonFrame,
} from "./framing";
export {
  LINK_TLS_CIPHERS,
  PEER_LINK_IDENTITY,
  acceptTls,
  connectTls,
  isUnknownIdentityAlert,
  isWrongKeyAlert,
  mediatorLinkIdentity,
  mediatorLinkKey,
  parseMediatorLinkIdentity,
  peerLinkKey,
  secretDigest,
  secretKeyId,
  unmatchableKey,
} from "./link-tls";
export {
  MigrationFrameError,
  decodeMigrationBatch,
  migratedActorProblem,
  encodeMigratedActor,
  encodeMigrationBatch,
  type EncodedActor,
} from "./migration-codec";
export {
  appOfUan,
  formatAddress,
  formatUal,
  formatUan,
  isUan,
  parseAddress,
  parseAddressList,
  parseUal,
  parseUan,
  uanOfUal,
  type ParsedUal,
  type ParsedUan,
  type TheaterAddress,
} from "./names";
export {
  MIN_PEER_KEY_BYTES,
  PEER_HANDSHAKE_TIMEOUT_MS,
  PEER_NONCE_BYTES,
  PeerRefusedError,
  acceptPeer,
  answerPeerChallenge,
  connectToPeer,
  type AcceptPeerOptions,
  type ConnectToPeerOptions,
  type PeerIdentity,
} from "./peer-auth";
export * from "./protocol";
export { countersOf } from "./counters";
export * from "./guards";
export {
  THEATER_BUILD_ENV,
  THEATER_EXIT_CODES,
  buildIsCurrent,
  spawnLocalTheater,
  type LocalTheaterOptions,
  type LocalTheaterProcess,
  type TheaterFault,
} from "./spawn-local-theater";
export {
  Theater,
  TheaterRefusedError,
  type LogFields,
  type TheaterFaultHooks,
  type TheaterLog,
  type TheaterOptions,
  type TheaterStats,
} from "./theater";
export { ActivityLog, nowEpochMs, type ActivityWindow } from "./activity-log";

export type {
  DomainInfo,
  DomainListOptions,
  DomainSpec,
  DomainStateName,
  GuestBootSpec,
  HostCapacity,
  HostConnectionOptions,
  HostKind,
  HostSpec,
  QemuGuestConfig,
} from "./types";
export { HostConnection } from "./connection";
export { HypervisorError, isHypervisorError, type HypervisorErrorCode } from "./errors";
export {
  hostKindOf,
  hostSpecProblems,
  simulatedHostFile,
  simulatedNodeXml,
  testUriFile,
  testUriForFile,
  type SimulatedHost,
} from "./host";
export {
  buildDomainXml,
  domainSpecProblems,
  MALLEO_METADATA_NS,
  parseDomainXml,
  qemuDomainXml,
  testDomainXml,
  type DomainXmlTarget,
  type ParsedDomainXml,
} from "./domain-xml";
export { domainMismatches } from "./domain";
export {
  allocateGuestAddress,
  GUEST_BASE_CMDLINE,
  guestKernelArgs,
  guestMacAddress,
  parseBridgeCidr,
  probeAccelerator,
  type AcceleratorChoice,
  type GuestIdentity,
  type GuestNetwork,
} from "./guest";

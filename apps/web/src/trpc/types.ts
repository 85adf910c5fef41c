import type { RouterOutputs } from "@malleo/api";

export type Topology = RouterOutputs["topology"]["get"];
export type TopologyHost = Topology["hosts"][number];
export type TopologyVm = TopologyHost["vms"][number];
export type TopologyApplication = Topology["applications"][number];
export type OperationDetail = RouterOutputs["operations"]["get"];
export type OperationStep = OperationDetail["steps"][number];
export type OperationSummary = RouterOutputs["operations"]["list"]["items"][number];
export type OperationPlan = NonNullable<OperationSummary["plan"]>;
export type ApplicationSummary = RouterOutputs["applications"]["list"][number];
export type ApplicationKind = RouterOutputs["applications"]["kinds"][number];
export type ApplicationRecovery = RouterOutputs["applications"]["recovery"];
export type ApplicationCheckpoint = ApplicationRecovery["checkpoints"][number];
export type ApplicationOperation = RouterOutputs["applications"]["operations"][number];
export type ApplicationCommunication = RouterOutputs["applications"]["communication"];
export type VmDetail = RouterOutputs["vms"]["get"];

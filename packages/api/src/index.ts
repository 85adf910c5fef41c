import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import type { AppRouter } from "./root";

export { appRouter, createCaller, type AppRouter } from "./root";
export { createTRPCContext, type Context, type AppErrorData } from "./trpc";
export { authenticate, userForSessionToken, SESSION_COOKIE, type AuthUser } from "./auth/authenticate";
export { hashPassword, verifyPassword, generatePassword } from "./auth/passwords";
export { roleAllows, ROLES, ROLE_ABILITIES, type Role } from "./auth/roles";
export { searchInput as operationSearchInput } from "./routers/operations";
export { createEventHub, malleoEventSchema, type EventHub, type LiveEvent } from "./event-hub";
export { operationDetail, type OperationDetail } from "./operation-detail";
export { handleApiRequest, MAX_BODY_BYTES, type ApiRequestOptions } from "./http";
export { checkMutationRequest, isHttps, ownOrigin, parseAllowedOrigins, type OriginPolicy } from "./request-origin";
export { findHostileInput, sanitizeForRecord, INPUT_LIMITS } from "./input-guard";
export { TRPC_CODE_BY_APP_CODE, trpcCodeForAppCode, describeInputIssues } from "./errors";

export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;
export { handleBundleUpload, BUNDLE_CONTENT_TYPES, type BundleUploadAnswer, type BundleUploadOptions } from "./bundles/upload";
export { registerBundle, MAX_BUNDLE_BYTES, type RegisteredBundle } from "./bundles/register-bundle";

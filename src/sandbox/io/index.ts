// The local IO sandbox: a faithful fake of PagoPA IO's services API. See server.ts.
export { startIoSandbox, type IoSandbox, type IoSandboxOptions, type RecordedRequest } from './server.js';
export type { FaultKind, FaultOptions, SandboxOp } from './faults.js';
export type { CitizenOptions, SandboxMessage, MessageStatus } from './state.js';
export type { OwnerStats, RateLimit } from './rate.js';

/** gRPC's default message limit, kept everywhere: large payloads travel as chunks instead. */
export const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

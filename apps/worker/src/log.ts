/** Structured logs: one JSON object a line on stderr, with the operation id on every line of its work. */
export function createLogger(component: string) {
  return (entry: Record<string, unknown>) => {
    process.stderr.write(`${JSON.stringify({ t: new Date().toISOString(), component, ...entry })}\n`);
  };
}
export type Logger = ReturnType<typeof createLogger>;

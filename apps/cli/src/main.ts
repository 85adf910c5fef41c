// The `malleo` command (cli.ts) on this process's arguments, environment and output.
import { runCli } from "./cli";

void runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then((code) => process.exit(code));
